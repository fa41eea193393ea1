# SPDX-License-Identifier: Apache-2.0
"""Server-side key backups: each user's backup versions and the session keys in them."""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..types import JsonDict, UserId
from .database import Database


@dataclass(frozen=True)
class BackupVersion:
    version: int
    algorithm: str
    auth_data: JsonDict
    etag: int


@dataclass(frozen=True)
class BackedUpKey:
    room_id: str
    session_id: str
    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: JsonDict

    def to_json(self) -> JsonDict:
        return {"first_message_index": self.first_message_index,
                "forwarded_count": self.forwarded_count, "is_verified": self.is_verified,
                "session_data": self.session_data}


def _version(row) -> BackupVersion:
    return BackupVersion(row["version"], row["algorithm"], json.loads(row["auth_data"]),
                         row["etag"])


def _key(row) -> BackedUpKey:
    return BackedUpKey(row["room_id"], row["session_id"], row["first_message_index"],
                       row["forwarded_count"], bool(row["is_verified"]),
                       json.loads(row["session_data"]))


class BackupVersionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, user_id: UserId, algorithm: str, auth_data: JsonDict) -> int:
        """A new version, numbered after every earlier one (deleted ones included)."""
        last = self._db.scalar("SELECT MAX(version) FROM key_backup_versions WHERE user_id = ?",
                               (user_id,))
        version = (last or 0) + 1
        self._db.execute("INSERT INTO key_backup_versions (user_id, version, algorithm,"
                         " auth_data, etag, deleted) VALUES (?, ?, ?, ?, 0, 0)",
                         (user_id, version, algorithm, json.dumps(auth_data)))
        return version

    def get(self, user_id: UserId, version: int) -> BackupVersion | None:
        row = self._db.one("SELECT * FROM key_backup_versions WHERE user_id = ? AND version = ?"
                           " AND deleted = 0", (user_id, version))
        return _version(row) if row else None

    def current(self, user_id: UserId) -> BackupVersion | None:
        """The most recently created version not deleted."""
        row = self._db.one("SELECT * FROM key_backup_versions WHERE user_id = ? AND deleted = 0"
                           " ORDER BY version DESC LIMIT 1", (user_id,))
        return _version(row) if row else None

    def set_auth_data(self, user_id: UserId, version: int, auth_data: JsonDict) -> None:
        self._db.execute("UPDATE key_backup_versions SET auth_data = ? WHERE user_id = ? AND"
                         " version = ?", (json.dumps(auth_data), user_id, version))

    def bump_etag(self, user_id: UserId, version: int) -> None:
        self._db.execute("UPDATE key_backup_versions SET etag = etag + 1 WHERE user_id = ? AND"
                         " version = ?", (user_id, version))

    def mark_deleted(self, user_id: UserId, version: int) -> None:
        self._db.execute("UPDATE key_backup_versions SET deleted = 1 WHERE user_id = ? AND"
                         " version = ?", (user_id, version))


class BackedUpKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, user_id: UserId, version: int, key: BackedUpKey) -> None:
        self._db.execute(
            "INSERT INTO key_backup_keys (user_id, version, room_id, session_id,"
            " first_message_index, forwarded_count, is_verified, session_data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, version, room_id, session_id)"
            " DO UPDATE SET first_message_index = excluded.first_message_index,"
            " forwarded_count = excluded.forwarded_count, is_verified = excluded.is_verified,"
            " session_data = excluded.session_data",
            (user_id, version, key.room_id, key.session_id, key.first_message_index,
             key.forwarded_count, int(key.is_verified), json.dumps(key.session_data)))

    def keys(self, user_id: UserId, version: int, room_id: str | None = None,
             session_id: str | None = None) -> list[BackedUpKey]:
        where, params = self._scope(user_id, version, room_id, session_id)
        return [_key(row) for row in self._db.all(
            f"SELECT * FROM key_backup_keys WHERE {where} ORDER BY room_id, session_id", params)]

    def delete(self, user_id: UserId, version: int, room_id: str | None = None,
               session_id: str | None = None) -> int:
        """Deletes the keys in scope; how many there were."""
        where, params = self._scope(user_id, version, room_id, session_id)
        return self._db.execute(f"DELETE FROM key_backup_keys WHERE {where}", params).rowcount

    def count(self, user_id: UserId, version: int) -> int:
        return self._db.scalar("SELECT COUNT(*) FROM key_backup_keys WHERE user_id = ? AND"
                               " version = ?", (user_id, version))

    @staticmethod
    def _scope(user_id: UserId, version: int, room_id: str | None,
               session_id: str | None) -> tuple[str, tuple]:
        where, params = "user_id = ? AND version = ?", (user_id, version)
        if room_id is not None:
            where, params = where + " AND room_id = ?", params + (room_id,)
        if session_id is not None:
            where, params = where + " AND session_id = ?", params + (session_id,)
        return where, params
