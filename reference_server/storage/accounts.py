# SPDX-License-Identifier: Apache-2.0
"""Users, their devices and their access tokens."""
from __future__ import annotations

from dataclasses import dataclass

from ..types import DeviceId, UserId
from .database import Database


@dataclass(frozen=True)
class UserRecord:
    user_id: UserId
    password_hash: str | None
    is_guest: bool
    deactivated: bool
    appservice_id: str | None


@dataclass(frozen=True)
class TokenRecord:
    token: str
    user_id: UserId
    device_id: DeviceId | None


@dataclass(frozen=True)
class DeviceRecord:
    user_id: UserId
    device_id: DeviceId
    display_name: str | None
    last_seen_ts: int | None
    last_seen_ip: str | None


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, user_id: UserId, password_hash: str | None, *, now_ms: int,
               is_guest: bool = False, appservice_id: str | None = None) -> bool:
        """Create a user; False if the ID was already taken."""
        cursor = self._db.execute(
            "INSERT INTO users (user_id, password_hash, is_guest, appservice_id,"
            " created_ts) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (user_id, password_hash, int(is_guest), appservice_id, now_ms),
        )
        return cursor.rowcount == 1

    def get(self, user_id: UserId) -> UserRecord | None:
        row = self._db.one("SELECT * FROM users WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        return UserRecord(row["user_id"], row["password_hash"], bool(row["is_guest"]),
                          bool(row["deactivated"]), row["appservice_id"])

    def find_case_insensitive(self, user_id: UserId) -> UserRecord | None:
        row = self._db.one("SELECT user_id FROM users WHERE lower(user_id) = lower(?)", (user_id,))
        return self.get(row["user_id"]) if row else None

    def set_password_hash(self, user_id: UserId, password_hash: str | None) -> None:
        self._db.execute("UPDATE users SET password_hash = ? WHERE user_id = ?",
                         (password_hash, user_id))

    def deactivate(self, user_id: UserId) -> None:
        self._db.execute("UPDATE users SET deactivated = 1, password_hash = NULL WHERE user_id = ?",
                         (user_id,))


class DeviceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, user_id: UserId, device_id: DeviceId, display_name: str | None) -> None:
        """Creates the device if it is new; a known device keeps its name (spec: login)."""
        self._db.execute(
            "INSERT INTO devices (user_id, device_id, display_name) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, device_id) DO NOTHING",
            (user_id, device_id, display_name),
        )

    def get(self, user_id: UserId, device_id: DeviceId) -> DeviceRecord | None:
        row = self._db.one("SELECT * FROM devices WHERE user_id = ? AND device_id = ?",
                           (user_id, device_id))
        return _device(row) if row else None

    def list(self, user_id: UserId) -> list[DeviceRecord]:
        rows = self._db.all("SELECT * FROM devices WHERE user_id = ? ORDER BY device_id", (user_id,))
        return [_device(row) for row in rows]

    def set_display_name(self, user_id: UserId, device_id: DeviceId, name: str) -> None:
        self._db.execute("UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
                         (name, user_id, device_id))

    def touch(self, user_id: UserId, device_id: DeviceId, *, ip: str, now_ms: int) -> None:
        self._db.execute(
            "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ? WHERE user_id = ? AND device_id = ?",
            (now_ms, ip, user_id, device_id),
        )

    def delete(self, user_id: UserId, device_id: DeviceId) -> None:
        self._db.execute("DELETE FROM devices WHERE user_id = ? AND device_id = ?",
                         (user_id, device_id))


def _device(row) -> DeviceRecord:
    return DeviceRecord(row["user_id"], row["device_id"], row["display_name"],
                        row["last_seen_ts"], row["last_seen_ip"])


class TokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, token: str, user_id: UserId, device_id: DeviceId | None, *, now_ms: int) -> None:
        self._db.execute(
            "INSERT INTO access_tokens (token, user_id, device_id, created_ts) VALUES (?, ?, ?, ?)",
            (token, user_id, device_id, now_ms),
        )

    def get(self, token: str) -> TokenRecord | None:
        row = self._db.one("SELECT token, user_id, device_id FROM access_tokens WHERE token = ?",
                           (token,))
        return TokenRecord(row["token"], row["user_id"], row["device_id"]) if row else None

    def delete(self, token: str) -> None:
        self._db.execute("DELETE FROM access_tokens WHERE token = ?", (token,))

    def delete_for_device(self, user_id: UserId, device_id: DeviceId) -> list[str]:
        rows = self._db.all("SELECT token FROM access_tokens WHERE user_id = ? AND device_id = ?",
                            (user_id, device_id))
        self._db.execute("DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?",
                         (user_id, device_id))
        return [r["token"] for r in rows]

    def delete_for_user(self, user_id: UserId, *, except_token: str | None = None) -> list[str]:
        rows = self._db.all("SELECT token FROM access_tokens WHERE user_id = ? AND token != ?",
                            (user_id, except_token or ""))
        self._db.execute("DELETE FROM access_tokens WHERE user_id = ? AND token != ?",
                         (user_id, except_token or ""))
        return [r["token"] for r in rows]
