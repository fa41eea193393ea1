# SPDX-License-Identifier: Apache-2.0
"""Rooms this server knows, their published status, and local room aliases."""
from __future__ import annotations

from ..types import RoomId, UserId
from .database import Database


class RoomStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, room_id: RoomId, version: str, creator: UserId, *, now_ms: int) -> None:
        self._db.execute(
            "INSERT INTO rooms (room_id, room_version, creator, created_ts) VALUES (?, ?, ?, ?)",
            (room_id, version, creator, now_ms),
        )

    def version(self, room_id: RoomId) -> str | None:
        return self._db.scalar("SELECT room_version FROM rooms WHERE room_id = ?", (room_id,))

    def set_public(self, room_id: RoomId, public: bool) -> None:
        self._db.execute("UPDATE rooms SET is_public = ? WHERE room_id = ?", (int(public), room_id))

    def is_public(self, room_id: RoomId) -> bool:
        return bool(self._db.scalar("SELECT is_public FROM rooms WHERE room_id = ?", (room_id,)))

    def public_rooms(self) -> list[RoomId]:
        rows = self._db.all("SELECT room_id FROM rooms WHERE is_public = 1 ORDER BY created_ts")
        return [row["room_id"] for row in rows]

    def set_network_listing(self, service_id: str, network_id: str, room_id: RoomId,
                            public: bool) -> None:
        """Lists (or unlists) a room in an application service's network directory."""
        if public:
            self._db.execute("INSERT INTO appservice_room_list (service_id, "
                             "network_id, room_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                             (service_id, network_id, room_id))
        else:
            self._db.execute("DELETE FROM appservice_room_list WHERE service_id = ? AND "
                             "network_id = ? AND room_id = ?", (service_id, network_id, room_id))

    def network_rooms(self, network_id: str | None = None) -> list[RoomId]:
        """Rooms of every network's directory, or of one network's, oldest room first."""
        where, args = ("WHERE l.network_id = ?", (network_id,)) if network_id else ("", ())
        rows = self._db.all("SELECT DISTINCT l.room_id, r.created_ts FROM appservice_room_list l "
                            f"JOIN rooms r ON r.room_id = l.room_id {where} "
                            "ORDER BY r.created_ts", args)
        return [row["room_id"] for row in rows]


class AliasStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, alias: str, room_id: RoomId, creator: UserId) -> bool:
        cursor = self._db.execute(
            "INSERT INTO room_aliases (alias, room_id, creator) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (alias, room_id, creator),
        )
        return cursor.rowcount == 1

    def get(self, alias: str) -> tuple[RoomId, UserId] | None:
        row = self._db.one("SELECT room_id, creator FROM room_aliases WHERE alias = ?", (alias,))
        return (row["room_id"], row["creator"]) if row else None

    def delete(self, alias: str) -> None:
        self._db.execute("DELETE FROM room_aliases WHERE alias = ?", (alias,))

    def for_room(self, room_id: RoomId) -> list[str]:
        rows = self._db.all("SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias",
                            (room_id,))
        return [row["alias"] for row in rows]
