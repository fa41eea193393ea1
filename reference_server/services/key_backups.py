# SPDX-License-Identifier: Apache-2.0
"""Server-side key backups (client-server, Server-side key backups).

A user keeps encrypted megolm session keys in a backup version. Only the newest version
that is not deleted (the current one) accepts keys; any live version can be read. When a
key arrives for a session the backup already holds, the better of the two is kept: a
verified key beats an unverified one, then the lower first_message_index wins, then the
lower forwarded_count. Each version carries an etag that changes whenever its keys do,
so a client can tell that another client wrote to the backup.
"""
from __future__ import annotations

from .. import errors
from ..errors import MatrixError
from ..storage.database import Database
from ..storage.key_backups import BackedUpKey, BackedUpKeyStore, BackupVersion, BackupVersionStore
from ..types import JsonDict, UserId


def _rank(key: BackedUpKey) -> tuple[int, int, int]:
    """Orders keys so the one to keep compares smallest."""
    return (0 if key.is_verified else 1, key.first_message_index, key.forwarded_count)


def wrong_version(current: int) -> MatrixError:
    return MatrixError(403, "M_WRONG_ROOM_KEYS_VERSION",
                       "Keys can only be stored in the current backup version.",
                       current_version=str(current))


def _parse_version(version: str) -> int | None:
    """Our version IDs are decimal numbers; anything else names no backup."""
    if version.isascii() and version.isdigit() and str(int(version)) == version:
        return int(version)
    return None


class KeyBackups:
    def __init__(self, *, db: Database, versions: BackupVersionStore,
                 keys: BackedUpKeyStore) -> None:
        self._db = db
        self._versions = versions
        self._keys = keys

    # -- versions --

    def create(self, user_id: UserId, body: JsonDict) -> JsonDict:
        with self._db.transaction():
            version = self._versions.create(user_id, body["algorithm"], body["auth_data"])
        return {"version": str(version)}

    def describe_current(self, user_id: UserId) -> JsonDict:
        backup = self._versions.current(user_id)
        if backup is None:
            raise errors.not_found("There is no key backup.")
        return self._describe(user_id, backup)

    def describe(self, user_id: UserId, version: str) -> JsonDict:
        return self._describe(user_id, self._live(user_id, version))

    def update(self, user_id: UserId, version: str, body: JsonDict) -> JsonDict:
        backup = self._live(user_id, version)
        if "version" in body and body["version"] != version:
            raise errors.invalid_param("The version in the body differs from the path's.")
        if body["algorithm"] != backup.algorithm:
            raise errors.invalid_param("A backup's algorithm cannot change.")
        self._versions.set_auth_data(user_id, backup.version, body["auth_data"])
        return {}

    def delete(self, user_id: UserId, version: str) -> JsonDict:
        backup = self._live(user_id, version)
        with self._db.transaction():
            self._keys.delete(user_id, backup.version)
            self._versions.mark_deleted(user_id, backup.version)
        return {}

    # -- keys --

    def put_keys(self, user_id: UserId, version: str, rooms: JsonDict) -> JsonDict:
        """Stores the keys of `rooms` (room ID → {"sessions": {session ID → key}})."""
        with self._db.transaction():
            backup = self._writable(user_id, version)
            changed = False
            for room_id, room in rooms.items():
                for session_id, data in room["sessions"].items():
                    changed |= self._offer(user_id, backup.version, BackedUpKey(
                        room_id, session_id, data["first_message_index"],
                        data["forwarded_count"], data["is_verified"], data["session_data"]))
            if changed:
                self._versions.bump_etag(user_id, backup.version)
            return self._summary(user_id, backup.version)

    def get_keys(self, user_id: UserId, version: str, room_id: str | None = None,
                 session_id: str | None = None) -> JsonDict:
        backup = self._live(user_id, version)
        keys = self._keys.keys(user_id, backup.version, room_id, session_id)
        if session_id is not None:
            if not keys:
                raise errors.not_found("The backup holds no key for this session.")
            return keys[0].to_json()
        rooms: JsonDict = {}
        for key in keys:
            rooms.setdefault(key.room_id, {"sessions": {}})["sessions"][key.session_id] = \
                key.to_json()
        if room_id is not None:
            return rooms.get(room_id, {"sessions": {}})
        return {"rooms": rooms}

    def delete_keys(self, user_id: UserId, version: str, room_id: str | None = None,
                    session_id: str | None = None) -> JsonDict:
        with self._db.transaction():
            backup = self._live(user_id, version)
            if self._keys.delete(user_id, backup.version, room_id, session_id):
                self._versions.bump_etag(user_id, backup.version)
            return self._summary(user_id, backup.version)

    # -- helpers --

    def _offer(self, user_id: UserId, version: int, key: BackedUpKey) -> bool:
        """Stores `key` unless the backup already holds a key at least as good; whether
        it was stored."""
        held = self._keys.keys(user_id, version, key.room_id, key.session_id)
        if held and _rank(held[0]) <= _rank(key):
            return False
        self._keys.put(user_id, version, key)
        return True

    def _live(self, user_id: UserId, version: str) -> BackupVersion:
        number = _parse_version(version)
        backup = self._versions.get(user_id, number) if number is not None else None
        if backup is None:
            raise errors.not_found(f"There is no key backup version {version!r}.")
        return backup

    def _writable(self, user_id: UserId, version: str) -> BackupVersion:
        current = self._versions.current(user_id)
        if current is None:
            raise errors.not_found("There is no key backup.")
        if _parse_version(version) != current.version:
            raise wrong_version(current.version)
        return current

    def _describe(self, user_id: UserId, backup: BackupVersion) -> JsonDict:
        return {"algorithm": backup.algorithm, "auth_data": backup.auth_data,
                "version": str(backup.version), **self._summary(user_id, backup.version)}

    def _summary(self, user_id: UserId, version: int) -> JsonDict:
        backup = self._versions.get(user_id, version)
        assert backup is not None
        return {"etag": str(backup.etag), "count": self._keys.count(user_id, version)}
