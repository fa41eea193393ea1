# SPDX-License-Identifier: Apache-2.0
"""Walking a space's tree of rooms (client-server GET /hierarchy) and describing one
space to another server (server-server GET /hierarchy).

The client walk is depth first over `m.space.child` events, each room once. Rooms this
server is not in are described by a server from the child event's `via`, whose answer
also describes that room's children; what it lists as inaccessible is not asked about.
Pagination tokens carry the walk's parameters and how many rooms were already given
out, so a page is the same walk continued, with nothing kept on the server.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

from .. import errors
from ..protocol.events import server_of
from ..types import JsonDict, RoomId, UserId
from .room_summary import SPACE, RoomSummaries, order_children

DEFAULT_LIMIT, MAX_LIMIT = 50, 100
DEFAULT_DEPTH, MAX_DEPTH = 20, 50
MAX_SERVERS_PER_ROOM = 3
TOKEN_PREFIX = "h0"

# (servers to ask, room ID, suggested_only) -> the remote /hierarchy answer, or None.
RemoteHierarchy = Callable[[list[str], RoomId, bool], Awaitable[JsonDict | None]]


@dataclass(frozen=True)
class WalkParams:
    """What a pagination token pins down: the same walk, continued after `skip` rooms."""

    root: RoomId
    suggested_only: bool
    max_depth: int
    skip: int = 0

    def token(self, skip: int) -> str:
        raw = json.dumps([self.root, self.suggested_only, self.max_depth, skip])
        return TOKEN_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@dataclass
class _Entry:
    room_id: RoomId
    via: list[str]
    depth: int
    remote: JsonDict | None = None  # a summary a remote server already gave


@dataclass
class _Described:
    room: JsonDict
    children_state: list[JsonDict]
    remote_children: dict[RoomId, JsonDict] = field(default_factory=dict)
    inaccessible: set[RoomId] = field(default_factory=set)


class SpaceHierarchy:
    def __init__(self, *, summaries: RoomSummaries, remote_hierarchy: RemoteHierarchy,
                 membership, pending_invite) -> None:
        self._summaries = summaries
        self._remote = remote_hierarchy
        self._membership = membership  # (room ID, user ID) -> membership or None
        self._pending_invite = pending_invite  # (room ID, user ID) -> invite event or None

    # client-server --------------------------------------------------------------------
    async def page(self, user_id: UserId, root: RoomId, *, suggested_only: bool,
                   max_depth: int | None, limit: int | None, from_token: str | None
                   ) -> JsonDict:
        params = self._params(root, suggested_only, max_depth, from_token)
        if limit is not None and limit < 1:
            raise errors.invalid_param("limit must be a positive integer.")
        limit = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
        rooms: list[JsonDict] = []
        more = False
        position = 0
        async with aclosing(self._walk(user_id, params)) as walk:
            async for room in walk:
                if position >= params.skip + limit:
                    more = True
                    break
                if position >= params.skip:
                    rooms.append(room)
                position += 1
        answer: JsonDict = {"rooms": rooms}
        if more:
            answer["next_batch"] = params.token(params.skip + limit)
        return answer

    def _params(self, root: RoomId, suggested_only: bool, max_depth: int | None,
                from_token: str | None) -> WalkParams:
        if max_depth is not None and max_depth < 0:
            raise errors.invalid_param("max_depth must be a non-negative integer.")
        depth = DEFAULT_DEPTH if max_depth is None else min(max_depth, MAX_DEPTH)
        params = WalkParams(root, suggested_only, depth)
        if from_token is None:
            return params
        given = _parse_token(from_token)
        if given is None or (given.root, given.suggested_only, given.max_depth) != \
                (root, suggested_only, depth):
            raise errors.invalid_param("Unknown pagination token, or suggested_only or "
                                       "max_depth changed since the first page.")
        return given

    async def _walk(self, user_id: UserId, params: WalkParams) -> AsyncIterator[JsonDict]:
        root = await self._describe_for_user(
            user_id, _Entry(params.root, self._root_servers(params.root, user_id), 0), params)
        if root is None:
            raise errors.forbidden("You may not view this room.")
        stack: list[tuple[_Entry, _Described | None]] = [(_Entry(params.root, [], 0), root)]
        seen: set[RoomId] = set()
        while stack:
            entry, described = stack.pop()
            if entry.room_id in seen:
                continue
            seen.add(entry.room_id)
            if described is None:
                described = await self._describe_for_user(user_id, entry, params)
            if described is None:
                continue
            yield {**described.room, "children_state": described.children_state}
            if entry.depth < params.max_depth:
                stack.extend(
                    (_Entry(child["state_key"], child["content"]["via"], entry.depth + 1,
                            described.remote_children.get(child["state_key"])), None)
                    for child in reversed(described.children_state)
                    if child["state_key"] not in described.inaccessible)

    def _root_servers(self, room_id: RoomId, user_id: UserId) -> list[str]:
        """Who to ask about a root this server is not in: the server in the room ID
        (room versions before 12 have one) and the server that invited the user."""
        servers = [server_of(room_id)]
        invite = self._pending_invite(room_id, user_id)
        if invite is not None:
            servers.append(server_of(invite["sender"]))
        return [s for s in servers if s]

    async def _describe_for_user(self, user_id: UserId, entry: _Entry,
                                 params: WalkParams) -> _Described | None:
        room_id = entry.room_id
        if self._summaries.known(room_id):
            if not self._summaries.user_may_see(room_id, user_id):
                return None
            return _Described(self._summaries.summary(room_id), self._summaries.children_state(
                room_id, suggested_only=params.suggested_only))
        described = self._remote_already_known(entry, params) or \
            await self._ask_remote(entry, params.suggested_only)
        if described is None or not self._user_may_see_remote(user_id, described.room):
            return None
        return described

    def _remote_already_known(self, entry: _Entry, params: WalkParams) -> _Described | None:
        """A child summary from its parent's remote answer serves when no more is needed:
        the room is not a space, or the walk goes no deeper."""
        if entry.remote is None:
            return None
        if entry.remote.get("room_type") == SPACE and entry.depth < params.max_depth:
            return None
        return _Described(_public_keys(entry.remote), [])

    async def _ask_remote(self, entry: _Entry, suggested_only: bool) -> _Described | None:
        answer = await self._remote(entry.via[:MAX_SERVERS_PER_ROOM], entry.room_id,
                                    suggested_only)
        if answer is None:
            return None
        room = answer["room"]
        children = {c["room_id"]: c for c in answer.get("children", [])
                    if isinstance(c, dict) and isinstance(c.get("room_id"), str)}
        inaccessible = {r for r in answer.get("inaccessible_children", []) if isinstance(r, str)}
        state = [c for c in room.get("children_state", []) if isinstance(c, dict)]
        return _Described(_public_keys(room), order_children(state, suggested_only=suggested_only),
                          children, inaccessible)

    def _user_may_see_remote(self, user_id: UserId, room: JsonDict) -> bool:
        """The remote server judged for all its peers' users; this narrows it to one."""
        if room.get("join_rule") in ("public", "knock", "knock_restricted") or \
                room.get("world_readable") is True:
            return True
        allowed = room.get("allowed_room_ids")
        if isinstance(allowed, list) and any(
                isinstance(r, str) and self._membership(r, user_id) == "join" for r in allowed):
            return True
        return self._membership(room["room_id"], user_id) in ("join", "invite")

    # server-server --------------------------------------------------------------------
    def for_server(self, origin: str, room_id: RoomId, *, suggested_only: bool) -> JsonDict:
        """The space and those of its children this server is in, split by whether
        `origin` could reach them; children this server cannot describe are left out."""
        if not self._summaries.known(room_id) or \
                not self._summaries.server_may_see(room_id, origin):
            raise errors.not_found("Unknown room, or not one your server may see.")
        children_state = self._summaries.children_state(room_id, suggested_only=suggested_only)
        children: list[JsonDict] = []
        inaccessible: list[RoomId] = []
        for child in children_state:
            child_id = child["state_key"]
            if not self._summaries.known(child_id):
                continue
            if self._summaries.server_may_see(child_id, origin):
                children.append(self._summaries.summary(child_id))
            else:
                inaccessible.append(child_id)
        room = {**self._summaries.summary(room_id), "children_state": children_state}
        return {"room": room, "children": children, "inaccessible_children": inaccessible}


def _public_keys(room: JsonDict) -> JsonDict:
    """A remote summary without the children state (added back per walk) it may carry."""
    return {k: v for k, v in room.items() if k != "children_state"}


def _parse_token(token: str) -> WalkParams | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    encoded = token[len(TOKEN_PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        root, suggested_only, max_depth, skip = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if not (isinstance(root, str) and isinstance(suggested_only, bool) and
            isinstance(max_depth, int) and isinstance(skip, int) and skip >= 0):
        return None
    return WalkParams(root, suggested_only, max_depth, skip)
