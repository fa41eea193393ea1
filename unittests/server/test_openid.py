# SPDX-License-Identifier: Apache-2.0
"""OpenID tokens expire, are kept across restarts, and belong to whoever asked."""
from __future__ import annotations

import pytest

from reference_server.errors import MatrixError
from reference_server.services.openid import LIFETIME_S, OpenIdService
from reference_server.storage.database import Database
from reference_server.storage.openid import OpenIdTokenStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


def _service(path, clock) -> OpenIdService:
    db = Database(path)
    return OpenIdService(db=db, store=OpenIdTokenStore(db), server_name="example.org",
                         clock=clock)


def test_a_token_names_its_user_until_it_expires(tmp_path) -> None:
    clock = Clock()
    service = _service(tmp_path / "db", clock)
    token = service.request_token("@a:example.org", "@a:example.org")["access_token"]

    clock.now += LIFETIME_S * 1000 - 1
    assert service.user_info(token) == {"sub": "@a:example.org"}
    clock.now += 1
    with pytest.raises(MatrixError) as refused:
        service.user_info(token)
    assert (refused.value.status, refused.value.errcode) == (401, "M_UNKNOWN_TOKEN")


def test_a_token_survives_a_restart(tmp_path) -> None:
    clock = Clock()
    token = _service(tmp_path / "db", clock).request_token(
        "@a:example.org", "@a:example.org")["access_token"]

    assert _service(tmp_path / "db", clock).user_info(token) == {"sub": "@a:example.org"}


def test_nobody_gets_a_token_for_someone_else(tmp_path) -> None:
    with pytest.raises(MatrixError) as refused:
        _service(tmp_path / "db", Clock()).request_token("@a:example.org", "@b:example.org")
    assert refused.value.status == 403
