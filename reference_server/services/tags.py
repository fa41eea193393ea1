# SPDX-License-Identifier: Apache-2.0
"""Room tags: the user's labels on a room, kept as that room's `m.tag` account data.

Spec: client-server-api/#room-tagging — the tags of a room reach clients as one `m.tag`
event in the room's `account_data`, content `{"tags": {name: {order?}}}`, so storing
them there makes /sync carry every change with no extra plumbing.
"""
from __future__ import annotations

from .. import errors
from ..types import JsonDict, RoomId, UserId
from .ephemeral import AccountDataService

TAG_EVENT = "m.tag"
MAX_TAG_BYTES = 255  # spec: a tag name MUST NOT exceed 255 bytes


class TagService:
    def __init__(self, *, account_data: AccountDataService) -> None:
        self._data = account_data

    def tags(self, user_id: UserId, room_id: RoomId) -> dict[str, JsonDict]:
        content = self._data.find(user_id, room_id, TAG_EVENT) or {}
        tags = content.get("tags")
        return dict(tags) if isinstance(tags, dict) else {}

    def set(self, user_id: UserId, room_id: RoomId, tag: str, data: JsonDict) -> None:
        if len(tag.encode()) > MAX_TAG_BYTES:
            raise errors.invalid_param(f"A tag name may be at most {MAX_TAG_BYTES} bytes.")
        tags = self.tags(user_id, room_id)
        tags[tag] = data
        self._data.put(user_id, room_id, TAG_EVENT, {"tags": tags})

    def delete(self, user_id: UserId, room_id: RoomId, tag: str) -> None:
        tags = self.tags(user_id, room_id)
        if tags.pop(tag, None) is not None:
            self._data.put(user_id, room_id, TAG_EVENT, {"tags": tags})
