# SPDX-License-Identifier: Apache-2.0
"""Device lists: when each user's devices last changed (on the /sync stream), and the
device lists of other servers' users as fetched from their servers."""
from __future__ import annotations

import json

from ..types import JsonDict, UserId
from .database import Database


class DeviceListStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def mark_changed(self, user_id: UserId, *, device_update: bool) -> tuple[int, int | None]:
        """Records a change at a new stream position. A `device_update` (one device added,
        changed or deleted) also becomes the user's latest update for other servers.
        Returns the new position and the previous device update's."""
        previous = self.last_update(user_id)
        stream_id = self._db.next_stream_id()
        update_id = stream_id if device_update else previous
        self._db.execute(
            "INSERT INTO device_list_changes (user_id, stream_id, update_id) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id,"
            " update_id = excluded.update_id", (user_id, stream_id, update_id))
        return stream_id, previous

    def last_update(self, user_id: UserId) -> int | None:
        """The stream position of the user's latest device update (for other servers)."""
        return self._db.scalar("SELECT update_id FROM device_list_changes WHERE user_id = ?",
                               (user_id,))

    def changed_since(self, users: set[UserId], since: int) -> set[UserId]:
        if not users:
            return set()
        marks = ",".join("?" * len(users))
        rows = self._db.all(f"SELECT user_id FROM device_list_changes WHERE stream_id > ?"
                            f" AND user_id IN ({marks})", (since, *users))
        return {r["user_id"] for r in rows}

    # remote device lists ------------------------------------------------------------------
    def remote_list(self, user_id: UserId) -> tuple[int, JsonDict] | None:
        row = self._db.one("SELECT stream_id, json FROM remote_device_lists WHERE user_id = ?",
                           (user_id,))
        return (row["stream_id"], json.loads(row["json"])) if row else None

    def set_remote_list(self, user_id: UserId, stream_id: int, devices: JsonDict) -> None:
        self._db.execute(
            "INSERT INTO remote_device_lists (user_id, stream_id, json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id,"
            " json = excluded.json", (user_id, stream_id, json.dumps(devices)))

    def forget_remote_list(self, user_id: UserId) -> None:
        self._db.execute("DELETE FROM remote_device_lists WHERE user_id = ?", (user_id,))
