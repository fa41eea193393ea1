# SPDX-License-Identifier: Apache-2.0
"""OpenID tokens: a user gets one to prove who they are to a third-party service.

The federation side (the service exchanging the token) is in
tests/federation/test_openid.py.

Spec: client-server-api/#openid, #post_matrixclientv3useruseridopenidrequest_token.
"""
from __future__ import annotations

from tests.harness.assertions import expect_error, expect_ok


def test_a_user_gets_an_openid_token_naming_their_server(hs):
    """The answer is a Bearer token with its lifetime and the server to ask about it.

    Spec: client-server-api/#post_matrixclientv3useruseridopenidrequest_token — the
    response holds `access_token`, `token_type` (the string `Bearer`),
    `matrix_server_name` (the homeserver to verify the token with) and `expires_in`.
    """
    alice = hs.register()

    token = expect_ok(alice.do("POST", ["user", alice.user_id, "openid", "request_token"],
                               json={}), "request an OpenID token")

    assert token["token_type"] == "Bearer", token
    assert token["matrix_server_name"] == hs.server_name, token
    assert token["expires_in"] > 0 and token["access_token"], token


def test_an_openid_token_is_not_an_access_token(hs):
    """The OpenID token cannot be used to call the client API.

    Spec: client-server-api/#post_matrixclientv3useruseridopenidrequest_token — the
    token is only valid for the OpenID API; it cannot be used to call /sync, for
    example.
    """
    alice = hs.register()
    token = expect_ok(alice.do("POST", ["user", alice.user_id, "openid", "request_token"],
                               json={}), "request an OpenID token")["access_token"]

    response = alice.do("GET", ["sync"], auth=False,
                        headers={"Authorization": f"Bearer {token}"})

    expect_error(response, 401, "M_UNKNOWN_TOKEN")


def test_an_openid_token_for_another_user_is_refused(hs):
    """A user cannot get an OpenID token in someone else's name.

    Spec: client-server-api/#post_matrixclientv3useruseridopenidrequest_token — `userId`
    is the user to request a token for and should be the authenticated user; a token
    for another user would let the caller impersonate them, so it is refused (the spec
    names no status: 403 M_FORBIDDEN, as for other acts on another user's behalf).
    """
    alice, bob = hs.register(), hs.register()

    response = alice.do("POST", ["user", bob.user_id, "openid", "request_token"], json={})

    expect_error(response, 403, "M_FORBIDDEN")
