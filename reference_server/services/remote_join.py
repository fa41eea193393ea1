# SPDX-License-Identifier: Apache-2.0
"""Joining a room that lives on other servers (server-server, joining rooms).

Ask a resident server for a join template (make_join), fill in and sign our user's
join event, send it (send_join v2), then check everything the resident answers with —
every state and auth-chain event must pass the PDU checks — before the room exists here:
the state and auth chain as outliers, the join as the head of our copy of the room.
"""
from __future__ import annotations

from urllib.parse import quote

from .. import errors
from ..federation.client import FederationClient, FederationError
from ..federation.pdu_checks import PduChecker, PduRejected
from ..protocol.events import finish_pdu
from ..protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion, room_version
from ..storage.database import Database
from ..storage.rooms import RoomStore
from ..types import JsonDict, RoomId, UserId
from .clock import now_ms
from .events import RoomEvents


class RemoteJoiner:
    def __init__(self, *, db: Database, rooms: RoomStore, room_events: RoomEvents,
                 client: FederationClient, checker: PduChecker, server_name: str,
                 signing_key, profile_of) -> None:
        self._db = db
        self._rooms = rooms
        self._events = room_events
        self._client = client
        self._checker = checker
        self._server_name = server_name
        self._key = signing_key
        self._profile = profile_of

    async def join(self, user_id: UserId, room_id: RoomId, servers: list[str]) -> RoomId:
        candidates = [s for s in dict.fromkeys(servers) if s and s != self._server_name]
        if not candidates:
            raise errors.not_found("No server to join this room through: give `via`.")
        failures = []
        for server in candidates:
            try:
                return await self._join_via(server, user_id, room_id)
            except FederationError as error:
                failures.append(f"{server}: {error}")
                if error.status == 403:
                    raise errors.forbidden(_remote_message(error, "The room refused the join."))
        raise errors.MatrixError(502, "M_UNKNOWN", "Could not join through any server: "
                                 + "; ".join(failures))

    async def leave(self, user_id: UserId, room_id: RoomId, servers: list[str], *,
                    reason: str | None = None) -> None:
        """Reject an invite to (or retract a knock on) a room this server is not in:
        make_leave/send_leave v2."""
        failures = []
        for server in dict.fromkeys(servers):
            try:
                template = await self._client.request(
                    "GET", server,
                    f"/_matrix/federation/v1/make_leave/{_q(room_id)}/{_q(user_id)}")
                version = room_version(str(template.get("room_version", "1")))
                event = dict(template["event"])
                event.update(origin=self._server_name, origin_server_ts=now_ms())
                event["content"] = {"membership": "leave", **({"reason": reason} if reason else {})}
                event_id, pdu = finish_pdu(event, version, server_name=self._server_name,
                                           key=self._key)
                await self._client.request(
                    "PUT", server,
                    f"/_matrix/federation/v2/send_leave/{_q(room_id)}/{_q(event_id)}", body=pdu)
            except (FederationError, KeyError, TypeError, AttributeError) as error:
                failures.append(f"{server}: {error}")
                continue
            self._events.record_remote_membership(room_id, version.identifier, event_id, pdu)
            return
        raise errors.MatrixError(502, "M_UNKNOWN", "Could not reject the invite: "
                                 + "; ".join(failures))

    async def knock(self, user_id: UserId, room_id: RoomId, servers: list[str], *,
                    reason: str | None = None) -> RoomId:
        """Knock on a room this server is not in: make_knock, then send_knock (v1).

        Spec (server-server, knocking upon a room): the resident answers send_knock with
        the room's stripped state, kept with the knock for the user's /sync `knock`
        section (as an invite keeps its invite_room_state)."""
        candidates = [s for s in dict.fromkeys(servers) if s and s != self._server_name]
        if not candidates:
            raise errors.not_found("No server to knock through: give `via`.")
        failures = []
        for server in candidates:
            try:
                return await self._knock_via(server, user_id, room_id, reason)
            except FederationError as error:
                failures.append(f"{server}: {error}")
                if error.status in (400, 403, 404) and isinstance(error.body, dict) and \
                        error.body.get("errcode"):
                    raise errors.MatrixError(error.status, error.body["errcode"],
                                             _remote_message(error, "The room refused the knock."))
        raise errors.MatrixError(502, "M_UNKNOWN", "Could not knock through any server: "
                                 + "; ".join(failures))

    async def _knock_via(self, server: str, user_id: UserId, room_id: RoomId,
                         reason: str | None) -> RoomId:
        template = await self._client.request(
            "GET", server, f"/_matrix/federation/v1/make_knock/{_q(room_id)}/{_q(user_id)}",
            query={"ver": list(KNOWN_ROOM_VERSIONS)})
        version = room_version(str(template.get("room_version", "")))
        if version is None or not isinstance(template.get("event"), dict):
            raise errors.MatrixError(502, "M_UNKNOWN", f"{server} sent an unusable template.")
        event = dict(template["event"])
        event.update(origin=self._server_name, origin_server_ts=now_ms())
        event["content"] = {**self._profile(user_id), "membership": "knock",
                            **({"reason": reason} if reason else {})}
        event_id, pdu = finish_pdu(event, version, server_name=self._server_name, key=self._key)
        answer = await self._client.request(
            "PUT", server, f"/_matrix/federation/v1/send_knock/{_q(room_id)}/{_q(event_id)}",
            body=pdu)
        stripped = answer.get("knock_room_state") if isinstance(answer, dict) else None
        # The stripped state stays with the knock, for the user's /sync `knock` section.
        stripped = stripped if isinstance(stripped, list) else []
        self._events.record_remote_membership(room_id, version.identifier, event_id, {
            **pdu, "unsigned": {**pdu.get("unsigned", {}), "knock_room_state": stripped}})
        return room_id

    async def _join_via(self, server: str, user_id: UserId, room_id: RoomId) -> RoomId:
        template = await self._client.request(
            "GET", server, f"/_matrix/federation/v1/make_join/{_q(room_id)}/{_q(user_id)}",
            query={"ver": list(KNOWN_ROOM_VERSIONS)})
        version = room_version(str(template.get("room_version", "1")))
        if version is None:
            raise errors.MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION", "Unknown room version.")
        event = dict(template["event"])
        event["origin"] = self._server_name
        event["origin_server_ts"] = now_ms()
        event["content"] = {**event.get("content", {}), "membership": "join",
                            **self._profile(user_id)}
        event_id, pdu = finish_pdu(event, version, server_name=self._server_name, key=self._key)
        answer = await self._client.request(
            "PUT", server, f"/_matrix/federation/v2/send_join/{_q(room_id)}/{_q(event_id)}",
            body=pdu)
        await self._store(room_id, version, event_id, pdu, answer)
        return room_id

    async def _store(self, room_id: RoomId, version: RoomVersion, event_id: str, pdu: JsonDict,
                     answer: JsonDict) -> None:
        outliers: dict[str, JsonDict] = {}
        for remote_pdu in [*answer.get("auth_chain", []), *answer.get("state", [])]:
            try:
                checked_id, checked = await self._checker.check(remote_pdu, version)
            except PduRejected:
                continue  # spec: drop events that fail the checks
            outliers[checked_id] = checked
        state = {(p["type"], p["state_key"]): i for i, p in outliers.items() if "state_key" in p}
        if ("m.room.create", "") not in state:
            raise errors.MatrixError(502, "M_UNKNOWN", "The resident server sent no usable state.")
        signed_join = answer.get("event") or pdu  # restricted joins come back co-signed
        with self._db.transaction():
            if self._rooms.version(room_id) is None:
                self._rooms.create(room_id, version.identifier, None, now_ms=now_ms())
            for outlier_id, outlier in outliers.items():
                if self._events.events.get(outlier_id) is None:
                    self._events.events.insert(outlier_id, outlier, room_id=room_id,
                                               stream_ordering=self._db.next_stream_id(),
                                               state_group=None, outlier=True)
        current = {**state, ("m.room.member", pdu["state_key"]): event_id}
        self._events.persist_placed(room_id, event_id, signed_join, state_before=state,
                                    extremities=[event_id], current_state=current)


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _remote_message(error: FederationError, default: str) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    return str(body.get("error") or default)
