# SPDX-License-Identifier: Apache-2.0
"""The to-device inbox of each device, on the /sync stream, and what makes sending and
receiving idempotent (client transaction IDs, federation message IDs)."""
from __future__ import annotations

import json

from ..types import DeviceId, JsonDict, UserId
from .database import Database


class ToDeviceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def deliver(self, user_id: UserId, device_id: DeviceId, stream_id: int,
                event: JsonDict) -> None:
        self._db.execute("INSERT INTO to_device_inbox (user_id, device_id, stream_id, json)"
                         " VALUES (?, ?, ?, ?)", (user_id, device_id, stream_id, json.dumps(event)))

    def pending(self, user_id: UserId, device_id: DeviceId, upto: int,
                limit: int) -> list[tuple[int, JsonDict]]:
        """The oldest `limit` messages waiting up to `upto`, with their stream positions."""
        rows = self._db.all("SELECT stream_id, json FROM to_device_inbox WHERE user_id = ?"
                            " AND device_id = ? AND stream_id <= ? ORDER BY stream_id, id"
                            " LIMIT ?", (user_id, device_id, upto, limit))
        return [(r["stream_id"], json.loads(r["json"])) for r in rows]

    def acknowledge(self, user_id: UserId, device_id: DeviceId, upto: int) -> None:
        """The device has seen everything up to `upto`: drop it from the inbox."""
        self._db.execute("DELETE FROM to_device_inbox WHERE user_id = ? AND device_id = ?"
                         " AND stream_id <= ?", (user_id, device_id, upto))

    def delete_device(self, user_id: UserId, device_id: DeviceId) -> None:
        self._db.execute("DELETE FROM to_device_inbox WHERE user_id = ? AND device_id = ?",
                         (user_id, device_id))

    def first_use_of_txn(self, user_id: UserId, device_id: DeviceId, txn_key: str) -> bool:
        """Remembers a client transaction; False if it was already used."""
        return self._db.execute("INSERT INTO to_device_txns (user_id, device_id,"
                                " txn_key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                (user_id, device_id, txn_key)).rowcount == 1

    def first_receipt(self, origin: str, message_id: str) -> bool:
        """Remembers a federation message ID; False if it was already received."""
        return self._db.execute("INSERT INTO to_device_received (origin, message_id)"
                                " VALUES (?, ?) ON CONFLICT DO NOTHING", (origin, message_id)).rowcount == 1
