# SPDX-License-Identifier: Apache-2.0
"""End-to-end encryption keys: device keys, one-time and fallback keys, cross-signing keys
and the signatures users add to them."""
from __future__ import annotations

import json

from ..types import DeviceId, JsonDict, UserId
from .database import Database


class E2eKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # device keys ------------------------------------------------------------------------
    def device_keys(self, user_id: UserId, device_id: DeviceId) -> JsonDict | None:
        text = self._db.scalar("SELECT json FROM e2e_device_keys WHERE user_id = ?"
                               " AND device_id = ?", (user_id, device_id))
        return json.loads(text) if text else None

    def all_device_keys(self, user_id: UserId) -> dict[DeviceId, JsonDict]:
        rows = self._db.all("SELECT device_id, json FROM e2e_device_keys WHERE user_id = ?"
                            " ORDER BY device_id", (user_id,))
        return {r["device_id"]: json.loads(r["json"]) for r in rows}

    def set_device_keys(self, user_id: UserId, device_id: DeviceId, keys: JsonDict) -> None:
        self._db.execute(
            "INSERT INTO e2e_device_keys (user_id, device_id, json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, device_id) DO UPDATE SET json = excluded.json",
            (user_id, device_id, json.dumps(keys)))

    # one-time keys ----------------------------------------------------------------------
    def one_time_key(self, user_id: UserId, device_id: DeviceId, algorithm: str,
                     key_id: str) -> JsonDict | str | None:
        text = self._db.scalar(
            "SELECT json FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?"
            " AND algorithm = ? AND key_id = ?", (user_id, device_id, algorithm, key_id))
        return json.loads(text) if text else None

    def add_one_time_key(self, user_id: UserId, device_id: DeviceId, algorithm: str,
                         key_id: str, key: JsonDict | str) -> None:
        self._db.execute(
            "INSERT INTO e2e_one_time_keys (user_id, device_id, algorithm, key_id,"
            " json) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (user_id, device_id, algorithm, key_id,
                                              json.dumps(key)))

    def take_one_time_key(self, user_id: UserId, device_id: DeviceId,
                          algorithm: str) -> tuple[str, JsonDict | str] | None:
        """Removes and returns the oldest one-time key of the algorithm; call it inside a
        transaction so that a key can never be handed out twice."""
        row = self._db.one(
            "SELECT id, key_id, json FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?"
            " AND algorithm = ? ORDER BY id LIMIT 1", (user_id, device_id, algorithm))
        if row is None:
            return None
        self._db.execute("DELETE FROM e2e_one_time_keys WHERE id = ?", (row["id"],))
        return row["key_id"], json.loads(row["json"])

    def one_time_key_counts(self, user_id: UserId, device_id: DeviceId) -> dict[str, int]:
        rows = self._db.all(
            "SELECT algorithm, count(*) AS n FROM e2e_one_time_keys WHERE user_id = ?"
            " AND device_id = ? GROUP BY algorithm", (user_id, device_id))
        return {r["algorithm"]: r["n"] for r in rows}

    # fallback keys ----------------------------------------------------------------------
    def set_fallback_key(self, user_id: UserId, device_id: DeviceId, algorithm: str,
                         key_id: str, key: JsonDict | str) -> None:
        """Replaces the device's fallback key of this algorithm with an unused one."""
        self._db.execute(
            "INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, json, used)"
            " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (user_id, device_id, algorithm) DO UPDATE"
            " SET key_id = excluded.key_id, json = excluded.json, used = 0"
            " WHERE e2e_fallback_keys.key_id != excluded.key_id"
            " OR e2e_fallback_keys.json != excluded.json",
            (user_id, device_id, algorithm, key_id, json.dumps(key)))

    def use_fallback_key(self, user_id: UserId, device_id: DeviceId,
                         algorithm: str) -> tuple[str, JsonDict | str] | None:
        row = self._db.one(
            "SELECT key_id, json FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ?"
            " AND algorithm = ?", (user_id, device_id, algorithm))
        if row is None:
            return None
        self._db.execute("UPDATE e2e_fallback_keys SET used = 1 WHERE user_id = ?"
                         " AND device_id = ? AND algorithm = ?", (user_id, device_id, algorithm))
        return row["key_id"], json.loads(row["json"])

    def unused_fallback_algorithms(self, user_id: UserId, device_id: DeviceId) -> list[str]:
        rows = self._db.all("SELECT algorithm FROM e2e_fallback_keys WHERE user_id = ?"
                            " AND device_id = ? AND used = 0 ORDER BY algorithm",
                            (user_id, device_id))
        return [r["algorithm"] for r in rows]

    # cross-signing keys and signatures ------------------------------------------------------
    def cross_signing_key(self, user_id: UserId, usage: str) -> JsonDict | None:
        text = self._db.scalar("SELECT json FROM e2e_cross_signing_keys WHERE user_id = ?"
                               " AND usage = ?", (user_id, usage))
        return json.loads(text) if text else None

    def set_cross_signing_key(self, user_id: UserId, usage: str, key: JsonDict) -> None:
        self._db.execute(
            "INSERT INTO e2e_cross_signing_keys (user_id, usage, json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, usage) DO UPDATE SET json = excluded.json",
            (user_id, usage, json.dumps(key)))

    def add_signature(self, target_user: UserId, target_key_id: str, signer_user: UserId,
                      signer_key_id: str, signature: str) -> None:
        self._db.execute(
            "INSERT INTO e2e_signatures (target_user, target_key_id, signer_user, signer_key_id,"
            " signature) VALUES (?, ?, ?, ?, ?) ON CONFLICT (target_user, target_key_id,"
            " signer_user, signer_key_id) DO UPDATE SET"
            " signature = excluded.signature",
            (target_user, target_key_id, signer_user, signer_key_id, signature))

    def signatures(self, target_user: UserId, target_key_id: str) -> list[tuple[str, str, str]]:
        """(signer user, signer key ID, signature) for one key of a user."""
        rows = self._db.all(
            "SELECT signer_user, signer_key_id, signature FROM e2e_signatures"
            " WHERE target_user = ? AND target_key_id = ?", (target_user, target_key_id))
        return [(r["signer_user"], r["signer_key_id"], r["signature"]) for r in rows]

    # deletion ---------------------------------------------------------------------------------
    def delete_device(self, user_id: UserId, device_id: DeviceId) -> bool:
        """Forgets every key of the device; True if it had identity keys."""
        had_keys = self._db.execute("DELETE FROM e2e_device_keys WHERE user_id = ?"
                                    " AND device_id = ?", (user_id, device_id)).rowcount > 0
        for table in ("e2e_one_time_keys", "e2e_fallback_keys"):
            self._db.execute(f"DELETE FROM {table} WHERE user_id = ? AND device_id = ?",
                             (user_id, device_id))
        self._db.execute("DELETE FROM e2e_signatures WHERE target_user = ?"
                         " AND target_key_id = ?", (user_id, device_id))
        return had_keys
