# SPDX-License-Identifier: Apache-2.0
"""User-interactive authentication: flows, sessions and stage checks.

A session remembers which stages were completed and for which request, so a client can
complete a flow over several requests. Sessions live in memory: losing them on restart
only makes a client start the dance again, which the spec allows.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..errors import MatrixError
from ..types import JsonDict
from .clock import now_ms, random_string

SESSION_LIFETIME_MS = 30 * 60 * 1000

# A stage check returns the user ID it authenticated (or None) and raises MatrixError on failure.
StageCheck = Callable[[JsonDict], Awaitable[str | None]]


@dataclass
class _Session:
    created_ms: int
    completed: list[str] = field(default_factory=list)
    user_id: str | None = None


class UserInteractiveAuth:
    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}

    async def authenticate(
        self,
        auth: JsonDict | None,
        *,
        flows: list[list[str]],
        checks: dict[str, StageCheck],
        params: JsonDict | None = None,
    ) -> str | None:
        """Run one step of the dance; return the authenticated user (or None) once a flow is done.

        Raises the 401 answer with the flows while the client still has stages to complete.
        """
        self._expire()
        session_id = auth.get("session") if auth else None
        session = self._sessions.get(session_id) if session_id else None
        if auth and session_id and session is None:
            raise MatrixError(400, "M_UNKNOWN", "Unknown user-interactive auth session.")
        if session is None:
            session_id, session = random_string(24), _Session(now_ms())
            self._sessions[session_id] = session
        stage = auth.get("type") if auth else None
        if stage:
            check = checks.get(stage)
            if check is None or not any(stage in flow for flow in flows):
                raise self._challenge(session_id, session, flows, params, MatrixError(
                    400, "M_UNRECOGNIZED", f"Unknown auth stage {stage!r}."))
            try:
                user_id = await check(auth)
            except MatrixError as error:
                raise self._challenge(session_id, session, flows, params, error) from None
            if user_id is not None:
                session.user_id = user_id
            if stage not in session.completed:
                session.completed.append(stage)
        if any(all(s in session.completed for s in flow) for flow in flows):
            del self._sessions[session_id]
            return session.user_id
        raise self._challenge(session_id, session, flows, params, None)

    @staticmethod
    def _challenge(session_id: str, session: _Session, flows: list[list[str]],
                   params: JsonDict | None, cause: MatrixError | None) -> MatrixError:
        error = MatrixError(401, cause.errcode if cause else "M_UNAUTHORIZED",
                            cause.message if cause else "Additional authentication is required.")
        error.extra = {
            "flows": [{"stages": flow} for flow in flows],
            "params": params or {},
            "session": session_id,
            "completed": list(session.completed),
        }
        if cause is None:
            error.to_json = lambda: dict(error.extra)  # type: ignore[method-assign]
        return error

    def _expire(self) -> None:
        cutoff = now_ms() - SESSION_LIFETIME_MS
        for key in [k for k, s in self._sessions.items() if s.created_ms < cutoff]:
            del self._sessions[key]
