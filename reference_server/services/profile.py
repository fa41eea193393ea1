# SPDX-License-Identifier: Apache-2.0
"""Global profiles and their propagation into the rooms a user is joined to."""
from __future__ import annotations

import json
from typing import Any

from .. import errors
from ..storage.database import Database
from ..storage.profiles import ProfileStore
from ..types import JsonDict, UserId
from .events import NewEvent, RoomEvents

MAX_PROFILE_BYTES = 65536
MAX_KEY_BYTES = 255


class ProfileService:
    def __init__(self, *, db: Database, store: ProfileStore, room_events: RoomEvents,
                 user_exists) -> None:
        self._db = db
        self._store = store
        self._events = room_events
        self._user_exists = user_exists

    def get(self, user_id: UserId) -> JsonDict:
        if not self._user_exists(user_id):
            raise errors.not_found("No such user.")
        return self._store.get(user_id)

    def get_field(self, user_id: UserId, field: str) -> Any:
        profile = self.get(user_id)
        if field not in profile:
            raise errors.not_found(f"The profile has no {field}.")
        return profile[field]

    def member_fields(self, user_id: UserId) -> JsonDict:
        """The profile fields copied into membership events."""
        profile = self._store.get(user_id)
        return {k: profile[k] for k in ("displayname", "avatar_url") if isinstance(profile.get(k), str)}

    def set_field(self, requester: UserId, user_id: UserId, field: str, value: Any) -> None:
        if requester != user_id:
            raise errors.forbidden("You may only change your own profile.")
        if len(field.encode()) > MAX_KEY_BYTES:
            raise errors.MatrixError(400, "M_KEY_TOO_LARGE", "Profile keys may be 255 bytes at most.")
        if field in ("displayname", "avatar_url") and not isinstance(value, str):
            raise errors.bad_json(f"{field} must be a string.")
        profile = self._store.get(user_id)
        profile[field] = value
        if len(json.dumps(profile).encode()) > MAX_PROFILE_BYTES:
            raise errors.MatrixError(400, "M_PROFILE_TOO_LARGE", "The profile would exceed 64 KiB.")
        with self._db.transaction():
            self._store.set(user_id, field, value)
        if field in ("displayname", "avatar_url"):
            self._propagate(user_id)

    def delete_field(self, requester: UserId, user_id: UserId, field: str) -> None:
        if requester != user_id:
            raise errors.forbidden("You may only change your own profile.")
        with self._db.transaction():
            self._store.delete(user_id, field)
        if field in ("displayname", "avatar_url"):
            self._propagate(user_id)

    def _propagate(self, user_id: UserId) -> None:
        """Send a new join event carrying the new profile into each joined room."""
        fields = self.member_fields(user_id)
        for room_id, (membership, _, _) in self._events.state.rooms_for_user(user_id).items():
            if membership != "join":
                continue
            try:
                self._events.append(room_id, NewEvent(
                    user_id, "m.room.member", {"membership": "join", **fields}, state_key=user_id))
            except errors.MatrixError:
                continue  # the room's rules may forbid it; the global profile still changed
