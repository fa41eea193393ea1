# SPDX-License-Identifier: Apache-2.0
"""OpenID tokens: who each was issued to, and until when."""
from __future__ import annotations

from ..types import UserId
from .database import Database


class OpenIdTokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, token: str, user_id: UserId, *, expires_ts: int) -> None:
        self._db.execute("INSERT INTO openid_tokens (token, user_id, expires_ts) VALUES (?, ?, ?)",
                         (token, user_id, expires_ts))

    def user_of(self, token: str, *, now_ms: int) -> UserId | None:
        """The token's user, if the token exists and has not expired."""
        return self._db.scalar("SELECT user_id FROM openid_tokens WHERE token = ? AND"
                               " expires_ts > ?", (token, now_ms))

    def drop_expired(self, *, now_ms: int) -> None:
        self._db.execute("DELETE FROM openid_tokens WHERE expires_ts <= ?", (now_ms,))
