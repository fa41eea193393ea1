# SPDX-License-Identifier: Apache-2.0
"""Tracking device lists (client-server, end-to-end encryption): whose devices changed.

Every change to a user's devices or keys — local or reported by the user's server — gets
a position on the /sync stream. A client learns, per sync or `/keys/changes`, which users
it shares a room with changed since its token (`changed`), including users it newly
shares a room with, and which users it no longer shares any room with (`left`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..storage.database import Database
from ..storage.device_lists import DeviceListStore
from ..storage.state import StateStore
from ..types import DeviceId, UserId
from .notifier import Notifier


@dataclass(frozen=True)
class DeviceChange:
    """One change to a user's device list, in the order of the user's updates."""

    user_id: UserId
    device_id: DeviceId | None  # None: the user's cross-signing keys changed
    stream_id: int
    prev_id: int | None
    deleted: bool = False


# Which side of the ledger a membership change counts on: joining makes room-mates,
# leaving or being banned may end sharing a room.
_SEEN = {"join": lambda newcomers, gone: newcomers,
         "leave": lambda newcomers, gone: gone,
         "ban": lambda newcomers, gone: gone}


class DeviceLists:
    def __init__(self, *, db: Database, store: DeviceListStore, state: StateStore,
                 notifier: Notifier) -> None:
        self._db = db
        self._store = store
        self._state = state
        self._notifier = notifier
        self._listeners: list[Callable[[DeviceChange], None]] = []

    def on_change(self, listener: Callable[[DeviceChange], None]) -> None:
        """Call `listener(change)` after every change of one of a local user's devices."""
        self._listeners.append(listener)

    def changed(self, user_id: UserId, device_id: DeviceId | None, *,
                deleted: bool = False, announce: bool = True) -> DeviceChange:
        """Records a change of a local user's devices (`device_id` None: of their
        cross-signing keys); `announce` tells the listeners (other servers) about it."""
        device_update = device_id is not None and announce
        with self._db.transaction():
            stream_id, prev_id = self._store.mark_changed(user_id, device_update=device_update)
        change = DeviceChange(user_id, device_id, stream_id, prev_id, deleted)
        self._notifier.notify()
        if device_update:
            for listener in self._listeners:
                listener(change)
        return change

    def remote_changed(self, user_id: UserId) -> None:
        """Another server reported a change of its user's devices or keys."""
        with self._db.transaction():
            self._store.mark_changed(user_id, device_update=False)
        self._notifier.notify()

    def stream_id(self, user_id: UserId) -> int:
        """The `stream_id` of the user's latest device update sent to other servers."""
        return self._store.last_update(user_id) or 0

    def delta(self, user_id: UserId, since: int) -> tuple[list[UserId], list[UserId]]:
        """(changed, left) for a client whose previous token was at `since`."""
        memberships = self._state.rooms_for_user(user_id)
        joined = {r for r, (m, _, _) in memberships.items() if m == "join"}
        sharing = self._room_mates(joined) - {user_id}
        # Whose keys changed (the user's own included), then who newly shares a room.
        changed = self._store.changed_since(sharing | {user_id}, since)
        newcomers: set[UserId] = set()
        gone: set[UserId] = set()
        for room_id, (membership, _, stream) in memberships.items():
            if stream > since and membership in _SEEN:
                _SEEN[membership](newcomers, gone).update(self._state.joined_members(room_id))
        for _, other, membership in self._state.membership_changes(joined, since):
            if membership in _SEEN:
                _SEEN[membership](newcomers, gone).add(other)
        changed |= newcomers & sharing
        return sorted(changed), sorted(gone - sharing - {user_id})

    def _room_mates(self, rooms: set[str]) -> set[UserId]:
        mates: set[UserId] = set()
        for room_id in rooms:
            mates.update(self._state.joined_members(room_id))
        return mates
