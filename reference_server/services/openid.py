# SPDX-License-Identifier: Apache-2.0
"""OpenID (client-server, OpenID; server-server, OpenID).

A user asks for a token to prove who they are to a third-party service; the service
hands it to GET /_matrix/federation/v1/openid/userinfo and learns the user ID. The
token is good for that alone: it is kept apart from access tokens, so it can neither
call the client API nor get another token.
"""
from __future__ import annotations

import secrets

from .. import errors
from ..storage.database import Database
from ..storage.openid import OpenIdTokenStore
from ..types import JsonDict, UserId

LIFETIME_S = 3600


class OpenIdService:
    def __init__(self, *, db: Database, store: OpenIdTokenStore, server_name: str,
                 clock) -> None:
        self._db = db
        self._store = store
        self._server_name = server_name
        self._clock = clock

    def request_token(self, requester: UserId, user_id: UserId) -> JsonDict:
        if requester != user_id:
            raise errors.forbidden("You may only request OpenID tokens for yourself.")
        token = secrets.token_urlsafe(24)
        now = self._clock()
        with self._db.transaction():
            self._store.drop_expired(now_ms=now)
            self._store.add(token, user_id, expires_ts=now + LIFETIME_S * 1000)
        return {"access_token": token, "token_type": "Bearer",
                "matrix_server_name": self._server_name, "expires_in": LIFETIME_S}

    def user_info(self, token: str) -> JsonDict:
        user_id = self._store.user_of(token, now_ms=self._clock())
        if user_id is None:
            raise errors.unknown_token("The OpenID token is unknown or has expired.")
        return {"sub": user_id}
