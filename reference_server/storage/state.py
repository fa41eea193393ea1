# SPDX-License-Identifier: Apache-2.0
"""Room state: snapshots stored as deltas (state groups), current state, memberships.

Every event records the state group of the room *after* it. A group is a delta on a
previous group, so a long room costs one row per state change, not one full map each.
"""
from __future__ import annotations

import json
from collections import OrderedDict

from ..protocol.events import server_of
from ..types import EventId, RoomId, UserId
from .database import Database

StateMap = dict[tuple[str, str], EventId]


class StateStore:
    def __init__(self, db: Database, *, cache_size: int = 2000) -> None:
        self._db = db
        self._cache: OrderedDict[int, StateMap] = OrderedDict()
        self._cache_size = cache_size
        db.on_rollback(self._cache.clear)

    def create_group(self, room_id: RoomId, prev_group: int | None,
                     delta: StateMap) -> int:
        encoded = json.dumps([[t, k, e] for (t, k), e in delta.items()])
        group = self._db.scalar(
            "INSERT INTO state_groups (room_id, prev_group, delta) VALUES (?, ?, ?) RETURNING id",
            (room_id, prev_group, encoded))
        base = dict(self.group_state(prev_group)) if prev_group is not None else {}
        base.update(delta)
        self._remember(group, base)
        return group

    def group_state(self, group: int) -> StateMap:
        """The full state map of a group (a copy the caller may keep but must not mutate)."""
        cached = self._cache.get(group)
        if cached is not None:
            self._cache.move_to_end(group)
            return cached
        chain: list[list] = []
        current: int | None = group
        base: StateMap = {}
        while current is not None:
            if current in self._cache:
                base = dict(self._cache[current])
                break
            row = self._db.one("SELECT prev_group, delta FROM state_groups WHERE id = ?", (current,))
            chain.append(json.loads(row["delta"]))
            current = row["prev_group"]
        for delta in reversed(chain):
            for event_type, state_key, event_id in delta:
                base[(event_type, state_key)] = event_id
        self._remember(group, base)
        return base

    def _remember(self, group: int, state: StateMap) -> None:
        self._cache[group] = state
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    # current state -------------------------------------------------------------
    def current_state(self, room_id: RoomId) -> StateMap:
        rows = self._db.all("SELECT type, state_key, event_id FROM current_state WHERE room_id = ?",
                            (room_id,))
        return {(r["type"], r["state_key"]): r["event_id"] for r in rows}

    def current_event_id(self, room_id: RoomId, event_type: str, state_key: str) -> EventId | None:
        return self._db.scalar(
            "SELECT event_id FROM current_state WHERE room_id = ? AND type = ? AND state_key = ?",
            (room_id, event_type, state_key))

    def set_current(self, room_id: RoomId, event_type: str, state_key: str, event_id: EventId) -> None:
        self._db.execute(
            "INSERT INTO current_state (room_id, type, state_key, event_id) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = excluded.event_id",
            (room_id, event_type, state_key, event_id))

    # memberships ---------------------------------------------------------------
    def set_membership(self, room_id: RoomId, user_id: UserId, membership: str,
                       event_id: EventId, stream_ordering: int) -> None:
        self._db.execute(
            "INSERT INTO memberships (room_id, user_id, membership, event_id, stream_ordering)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO UPDATE SET"
            " membership = excluded.membership, event_id = excluded.event_id,"
            " stream_ordering = excluded.stream_ordering, forgotten = 0",
            (room_id, user_id, membership, event_id, stream_ordering))

    def membership(self, room_id: RoomId, user_id: UserId) -> tuple[str, EventId, int] | None:
        row = self._db.one(
            "SELECT membership, event_id, stream_ordering FROM memberships"
            " WHERE room_id = ? AND user_id = ?", (room_id, user_id))
        return (row["membership"], row["event_id"], row["stream_ordering"]) if row else None

    def rooms_for_user(self, user_id: UserId, *, include_forgotten: bool = False
                       ) -> dict[RoomId, tuple[str, EventId, int]]:
        sql = ("SELECT room_id, membership, event_id, stream_ordering FROM memberships"
               " WHERE user_id = ?")
        if not include_forgotten:
            sql += " AND forgotten = 0"
        rows = self._db.all(sql, (user_id,))
        return {r["room_id"]: (r["membership"], r["event_id"], r["stream_ordering"]) for r in rows}

    def forget(self, room_id: RoomId, user_id: UserId) -> None:
        self._db.execute("UPDATE memberships SET forgotten = 1 WHERE room_id = ? AND user_id = ?",
                         (room_id, user_id))

    def membership_changes(self, room_ids: set[RoomId], after: int
                           ) -> list[tuple[RoomId, UserId, str]]:
        """(room, user, membership) for the memberships in these rooms last set after `after`."""
        if not room_ids:
            return []
        marks = ",".join("?" * len(room_ids))
        rows = self._db.all(
            f"SELECT room_id, user_id, membership FROM memberships WHERE room_id IN ({marks})"
            " AND stream_ordering > ?", (*room_ids, after))
        return [(r["room_id"], r["user_id"], r["membership"]) for r in rows]

    def joined_members(self, room_id: RoomId) -> list[UserId]:
        rows = self._db.all(
            "SELECT user_id FROM memberships WHERE room_id = ? AND membership = 'join'", (room_id,))
        return [r["user_id"] for r in rows]

    def servers_in_room(self, room_id: RoomId) -> set[str]:
        """The servers with a member joined to the room: where its events and EDUs go."""
        return {server_of(user_id) for user_id in self.joined_members(room_id)} - {""}
