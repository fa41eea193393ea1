# SPDX-License-Identifier: Apache-2.0
"""/keys/query and /keys/claim: local users answered here, other servers' users asked
over federation (their failures listed, never a failed request).

Spec: client-server-api/#post_matrixclientv3keysquery, #post_matrixclientv3keysclaim.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..types import DeviceId, JsonDict, UserId
from .cross_signing import CrossSigning
from .e2e_keys import E2eKeys

DEFAULT_TIMEOUT_MS = 10_000

# Cross-signing usage → the section of a /keys/query answer that lists it.
SECTIONS = {"master": "master_keys", "self_signing": "self_signing_keys",
            "user_signing": "user_signing_keys"}


class RemoteKeySource(Protocol):
    """Other servers' users' keys (services.remote_keys.RemoteKeys)."""

    async def query(self, wanted: dict[UserId, list[DeviceId]], answer: JsonDict, *,
                    timeout_s: float) -> None: ...

    async def claim(self, wanted: dict[UserId, dict[DeviceId, str]], answer: JsonDict, *,
                    timeout_s: float) -> None: ...


class KeyQueries:
    def __init__(self, *, keys: E2eKeys, cross_signing: CrossSigning,
                 is_local: Callable[[UserId], bool], user_exists: Callable[[UserId], bool],
                 remote: RemoteKeySource | None = None) -> None:
        self._keys = keys
        self._cross_signing = cross_signing
        self._is_local = is_local
        self._user_exists = user_exists
        self._remote = remote

    def local_query(self, viewer: UserId | None, wanted: dict[UserId, list[DeviceId]]
                    ) -> JsonDict:
        """Keys of local users; `viewer` None is another server asking."""
        answer: JsonDict = {"device_keys": {}, **{s: {} for s in SECTIONS.values()}}
        for user_id, device_ids in wanted.items():
            if not self._is_local(user_id) or not self._user_exists(user_id):
                continue
            answer["device_keys"][user_id] = self._keys.device_keys(user_id, device_ids)
            for usage, key in self._cross_signing.keys_for(user_id, viewer).items():
                answer[SECTIONS[usage]][user_id] = key
        return answer

    async def query(self, requester: UserId, wanted: dict[UserId, list[DeviceId]], *,
                    timeout_ms: int | None) -> JsonDict:
        answer = self.local_query(requester, wanted)
        answer["failures"] = {}
        remote = {u: d for u, d in wanted.items() if not self._is_local(u)}
        if remote and self._remote is not None:
            await self._remote.query(remote, answer, timeout_s=_seconds(timeout_ms))
        return answer

    def local_claim(self, wanted: dict[UserId, dict[DeviceId, str]]) -> JsonDict:
        local = {u: d for u, d in wanted.items() if self._is_local(u)}
        return {"one_time_keys": self._keys.claim(local)}

    async def claim(self, wanted: dict[UserId, dict[DeviceId, str]], *,
                    timeout_ms: int | None) -> JsonDict:
        answer = self.local_claim(wanted)
        answer["failures"] = {}
        remote = {u: d for u, d in wanted.items() if not self._is_local(u)}
        if remote and self._remote is not None:
            await self._remote.claim(remote, answer, timeout_s=_seconds(timeout_ms))
        return answer


def _seconds(timeout_ms: int | None) -> float:
    millis = DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms
    return max(0.5, min(millis, 60_000) / 1000)
