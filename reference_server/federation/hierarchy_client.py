# SPDX-License-Identifier: Apache-2.0
"""Asking other servers about spaces this server is not in (server-server, spaces).

Tries the given servers in turn and keeps a good answer for a while, as the spec asks
of callers of GET /hierarchy; failures are not kept, so the next walk asks again.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

from ..types import JsonDict, RoomId
from .client import FederationClient, FederationError

log = logging.getLogger(__name__)

CACHE_MS = 5 * 60 * 1000


class RemoteHierarchies:
    def __init__(self, *, client: FederationClient, server_name: str, clock) -> None:
        self._client = client
        self._server_name = server_name
        self._clock = clock
        self._cache: dict[tuple[RoomId, bool], tuple[int, JsonDict]] = {}

    async def __call__(self, servers: list[str], room_id: RoomId,
                       suggested_only: bool) -> JsonDict | None:
        cached = self._cache.get((room_id, suggested_only))
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        for server in dict.fromkeys(servers):
            if server == self._server_name:
                continue
            answer = await self._ask(server, room_id, suggested_only)
            if answer is not None:
                self._cache[(room_id, suggested_only)] = (self._clock() + CACHE_MS, answer)
                return answer
        return None

    async def _ask(self, server: str, room_id: RoomId, suggested_only: bool) -> JsonDict | None:
        try:
            answer = await self._client.request(
                "GET", server, f"/_matrix/federation/v1/hierarchy/{quote(room_id, safe='')}",
                query={"suggested_only": "true" if suggested_only else "false"}, timeout=10)
        except FederationError as error:
            log.info("no hierarchy of %s from %s: %s", room_id, server, error)
            return None
        if not _well_formed(answer, room_id):
            log.info("%s answered a malformed hierarchy of %s", server, room_id)
            return None
        return answer


def _well_formed(answer: object, room_id: RoomId) -> bool:
    """The answer names the room asked about and has the three required keys."""
    if not isinstance(answer, dict) or not isinstance(answer.get("room"), dict):
        return False
    return answer["room"].get("room_id") == room_id and \
        isinstance(answer.get("children"), list) and \
        isinstance(answer.get("inaccessible_children"), list) and \
        isinstance(answer["room"].get("children_state", []), list)
