# SPDX-License-Identifier: Apache-2.0
"""Read receipts: the latest receipt of each type per user, room and thread."""
from __future__ import annotations

from ..types import EventId, JsonDict, RoomId, UserId
from .database import Database


class ReceiptStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, room_id: RoomId, receipt_type: str, user_id: UserId, thread_id: str | None,
            event_id: EventId, *, ts: int) -> int:
        stream_id = self._db.next_stream_id()
        self._db.execute(
            "INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id, ts,"
            " stream_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, receipt_type,"
            " user_id, thread_id) DO UPDATE SET event_id = excluded.event_id, ts = excluded.ts,"
            " stream_id = excluded.stream_id",
            (room_id, receipt_type, user_id, thread_id or "", event_id, ts, stream_id))
        return stream_id

    def since(self, room_id: RoomId, after: int) -> list[JsonDict]:
        rows = self._db.all(
            "SELECT receipt_type, user_id, thread_id, event_id, ts FROM receipts"
            " WHERE room_id = ? AND stream_id > ?", (room_id, after))
        return [dict(row) for row in rows]
