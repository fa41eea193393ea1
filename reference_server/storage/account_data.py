# SPDX-License-Identifier: Apache-2.0
"""Per-user account data (global and per room) and stored sync filters."""
from __future__ import annotations

import json

from ..types import JsonDict, RoomId, UserId
from .database import Database

GLOBAL = ""


class AccountDataStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, user_id: UserId, room_id: RoomId | None, data_type: str, content: JsonDict) -> int:
        stream_id = self._db.next_stream_id()
        self._db.execute(
            "INSERT INTO account_data (user_id, room_id, type, content, stream_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, type)"
            " DO UPDATE SET content = excluded.content, stream_id = excluded.stream_id",
            (user_id, room_id or GLOBAL, data_type, json.dumps(content), stream_id),
        )
        return stream_id

    def get(self, user_id: UserId, room_id: RoomId | None, data_type: str) -> JsonDict | None:
        row = self._db.one(
            "SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?",
            (user_id, room_id or GLOBAL, data_type),
        )
        return json.loads(row["content"]) if row else None

    def changed_since(self, user_id: UserId, since: int) -> dict[str, dict[str, JsonDict]]:
        """Account data changed after `since`, keyed by room ('' for global) then type."""
        rows = self._db.all(
            "SELECT room_id, type, content FROM account_data WHERE user_id = ? AND stream_id > ?",
            (user_id, since),
        )
        changed: dict[str, dict[str, JsonDict]] = {}
        for row in rows:
            changed.setdefault(row["room_id"], {})[row["type"]] = json.loads(row["content"])
        return changed


class FilterStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, user_id: UserId, definition: JsonDict) -> int:
        next_id = self._db.scalar(
            "SELECT coalesce(max(filter_id), -1) + 1 FROM filters WHERE user_id = ?", (user_id,)
        )
        self._db.execute("INSERT INTO filters (user_id, filter_id, definition) VALUES (?, ?, ?)",
                         (user_id, next_id, json.dumps(definition)))
        return next_id

    def get(self, user_id: UserId, filter_id: int) -> JsonDict | None:
        row = self._db.one("SELECT definition FROM filters WHERE user_id = ? AND filter_id = ?",
                           (user_id, filter_id))
        return json.loads(row["definition"]) if row else None
