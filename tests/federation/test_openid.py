# SPDX-License-Identifier: Apache-2.0
"""GET /openid/userinfo: a third-party service learns whose OpenID token it was given.

The caller is not a homeserver: requests here are unsigned.

Spec: server-server-api/#openid, #get_matrixfederationv1openiduserinfo.
"""
from __future__ import annotations

from tests.harness.assertions import expect_error, expect_ok


def _openid_token(client) -> str:
    body = expect_ok(client.do("POST", ["user", client.user_id, "openid", "request_token"],
                               json={}), "request an OpenID token")
    return body["access_token"]


def test_a_token_is_exchanged_for_the_user_it_was_issued_to(hs, federation):
    """Given a user's OpenID token, userinfo answers that user's ID as `sub`.

    Spec: server-server-api/#get_matrixfederationv1openiduserinfo — exchanges an OpenID
    access token for the Matrix user ID who generated it; no request signature is
    needed.
    """
    alice = hs.register()
    token = _openid_token(alice)

    response = federation.do("GET", ["openid", "userinfo"], params={"access_token": token},
                             sign=False)

    assert expect_ok(response, "exchange the OpenID token") == {"sub": alice.user_id}


def test_an_unknown_token_is_refused(hs, federation):
    """A token the server never issued answers 401 M_UNKNOWN_TOKEN.

    Spec: server-server-api/#get_matrixfederationv1openiduserinfo — 401 M_UNKNOWN_TOKEN
    when the token is unknown or expired.
    """
    response = federation.do("GET", ["openid", "userinfo"],
                             params={"access_token": "never-issued"}, sign=False)

    expect_error(response, 401, "M_UNKNOWN_TOKEN")

