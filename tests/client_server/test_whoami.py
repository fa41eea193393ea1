# SPDX-License-Identifier: Apache-2.0
"""Who owns an access token, and how tokens are presented."""
from __future__ import annotations

import secrets

from tests.harness.checks import expect_error, expect_ok


def test_whoami_names_the_device_of_each_token(hs):
    """Each of a user's tokens is reported with the same user and its own device.

    Spec: client-server-api/#get_matrixclientv3accountwhoami — returns the user ID owning
    the token and (since v1.1) the device ID associated with it.
    """
    alice = hs.register()
    phone = alice.new_device()
    for session in (alice, phone):
        me = session.whoami()
        assert (me["user_id"], me.get("device_id")) == (alice.user_id, session.device_id), (
            f"whoami says {me}; the token belongs to {alice.user_id} on {session.device_id}")


def test_whoami_does_not_call_a_registered_user_a_guest(hs):
    """A user registered as `kind=user` is not reported as a guest.

    Spec: client-server-api/#get_matrixclientv3accountwhoami — `is_guest` is true only for
    guest users; absent or false means a regular user.
    """
    me = hs.register().whoami()
    assert me.get("is_guest", False) is False, f"a regular user is reported as a guest: {me}"


def test_whoami_without_a_token_is_refused(hs):
    """No access token at all gets 401 M_MISSING_TOKEN.

    Spec: client-server-api/#using-access-tokens — when credentials are required but
    missing the call returns 401 with M_MISSING_TOKEN.
    """
    expect_error(hs.client().do("GET", ["account", "whoami"], auth=False), 401, "M_MISSING_TOKEN")


def test_whoami_with_an_unknown_token_is_refused(hs):
    """A token the server never issued gets 401 M_UNKNOWN_TOKEN.

    Spec: client-server-api/#using-access-tokens — an invalid (never valid) access token
    gives 401 with M_UNKNOWN_TOKEN.
    """
    headers = {"Authorization": f"Bearer made-up-{secrets.token_hex(16)}"}
    expect_error(hs.client().do("GET", ["account", "whoami"], headers=headers, auth=False),
                 401, "M_UNKNOWN_TOKEN")


def test_whoami_accepts_the_token_in_the_query_string(hs):
    """The deprecated `access_token` query parameter still authenticates the request.

    Spec: client-server-api/#using-access-tokens (v1.19 and earlier) — sending the token as
    a query parameter is deprecated but homeservers MUST support both methods (removed
    only in v1.20 by MSC4127).
    """
    alice = hs.register()
    me = expect_ok(alice.do("GET", ["account", "whoami"], auth=False,
                            params={"access_token": alice.access_token}),
                   "whoami with the token in the query string")
    assert me["user_id"] == alice.user_id, f"whoami says {me}, expected {alice.user_id}"


def test_whoami_with_an_unknown_query_string_token_is_refused(hs):
    """An unknown token in the query string gets 401 M_UNKNOWN_TOKEN as well.

    Spec: client-server-api/#using-access-tokens (v1.19 and earlier) — both ways of
    presenting a token are supported, and an invalid one gives 401 M_UNKNOWN_TOKEN.
    """
    params = {"access_token": f"made-up-{secrets.token_hex(16)}"}
    expect_error(hs.client().do("GET", ["account", "whoami"], params=params, auth=False),
                 401, "M_UNKNOWN_TOKEN")
