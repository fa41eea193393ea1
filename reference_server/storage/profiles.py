# SPDX-License-Identifier: Apache-2.0
"""Global profile fields of local users (displayname, avatar_url and custom fields)."""
from __future__ import annotations

import json
from typing import Any

from ..types import JsonDict, UserId
from .database import Database


class ProfileStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, user_id: UserId) -> JsonDict:
        rows = self._db.all("SELECT field, value FROM profiles WHERE user_id = ?", (user_id,))
        return {row["field"]: json.loads(row["value"]) for row in rows}

    def set(self, user_id: UserId, field: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO profiles (user_id, field, value) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, field) DO UPDATE SET value = excluded.value",
            (user_id, field, json.dumps(value)),
        )

    def delete(self, user_id: UserId, field: str) -> None:
        self._db.execute("DELETE FROM profiles WHERE user_id = ? AND field = ?", (user_id, field))
