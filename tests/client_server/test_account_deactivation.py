# SPDX-License-Identifier: Apache-2.0
"""Deactivating an account: user-interactive auth, and what is left of the account."""
from __future__ import annotations

import secrets

from tests.harness.checks import expect_error, expect_ok, expect_status


def localpart_of(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


def password_login(user_id: str, password: str) -> dict:
    return {"type": "m.login.password", "password": password,
            "identifier": {"type": "m.id.user", "user": user_id}}


def test_deactivation_needs_user_interactive_auth(hs):
    """Deactivation without `auth` gets a 401 challenge and the account stays usable.

    Spec: client-server-api/#post_matrixclientv3accountdeactivate — the endpoint uses
    user-interactive authentication, which never succeeds without auth (401 with flows).
    """
    alice = hs.register()
    challenge = expect_status(alice.do("POST", ["account", "deactivate"], json={}), 401)
    assert challenge.get("flows"), f"the 401 lists no flows: {challenge}"
    alice.whoami()


def test_deactivation_with_a_wrong_password_is_refused(hs):
    """A wrong password fails the stage with 401 and an errcode; the account stays usable.

    Spec: client-server-api/#user-interactive-api-in-the-rest-api — an unsuccessful stage
    attempt is answered with the 401 challenge plus `errcode` and `error`.
    """
    alice = hs.register()
    challenge = expect_status(alice.do("POST", ["account", "deactivate"], json={}), 401)
    auth = {"type": "m.login.password", "password": alice.password + "-wrong",
            "identifier": {"type": "m.id.user", "user": alice.user_id}}
    if "session" in challenge:
        auth["session"] = challenge["session"]
    failed = expect_status(alice.do("POST", ["account", "deactivate"], json={"auth": auth}), 401)
    assert failed.get("errcode") and failed.get("flows"), (
        f"a failed stage needs an errcode and the flows again: {failed}")
    alice.whoami()


def test_deactivation_reports_unbinding_success_without_third_party_ids(hs):
    """A user with no 3PIDs gets `id_server_unbind_result: success`.

    Spec: client-server-api/#post_matrixclientv3accountdeactivate — the result MUST be
    `success` if the homeserver has no identifiers to unbind for the user.
    """
    alice = hs.register()
    body = expect_ok(alice.uia_request("POST", ["account", "deactivate"], {}),
                     f"deactivate {alice.user_id}")
    assert body.get("id_server_unbind_result") == "success", (
        f"a user without 3PIDs has nothing to unbind; the server answered {body}")


def test_deactivated_user_cannot_log_in(hs):
    """Login as a deactivated user fails with 403 M_USER_DEACTIVATED or M_FORBIDDEN.

    Spec: client-server-api/#post_matrixclientv3login — 403 M_USER_DEACTIVATED for a
    deactivated user; servers MAY use M_FORBIDDEN when they can no longer authenticate them.
    """
    alice = hs.register()
    alice.deactivate()
    response = hs.client().do("POST", ["login"], auth=False,
                              json=password_login(alice.user_id, alice.password))
    error = expect_error(response, 403)
    assert error.get("errcode") in ("M_USER_DEACTIVATED", "M_FORBIDDEN"), (
        f"login of a deactivated user should fail with M_USER_DEACTIVATED or M_FORBIDDEN: {error}")


def test_deactivation_invalidates_every_access_token(hs):
    """After deactivation none of the user's tokens authenticates any more.

    Spec: client-server-api/#post_matrixclientv3accountdeactivate — deactivation removes all
    ability for the user to log in again, so their sessions end; a token that no longer
    works is M_UNKNOWN_TOKEN (client-server-api/#using-access-tokens), or M_USER_DEACTIVATED,
    the error for requests from a deactivated user.
    """
    alice = hs.register()
    phone = alice.new_device()
    token_holder = alice.new_device()
    expect_ok(token_holder.uia_request("POST", ["account", "deactivate"], {}), "deactivate")
    for session in (alice, phone, token_holder):
        response = session.do("GET", ["account", "whoami"])
        assert (response.status_code, _errcode(response)) in (
            (401, "M_UNKNOWN_TOKEN"), (403, "M_USER_DEACTIVATED")), (
            f"{session.device_id}'s token still answers {response.status_code} "
            f"{response.text[:300]} after deactivation")


def test_deactivated_user_id_cannot_be_registered_again(hs):
    """Nobody can register the user ID of a deactivated account: 400 M_USER_IN_USE.

    Spec: client-server-api/#post_matrixclientv3accountdeactivate — deactivation removes
    all ability to log in as that user again, which a new account with the same ID would
    restore; /register answers M_USER_IN_USE for a user ID that has been taken.
    """
    alice = hs.register()
    alice.deactivate()
    body = {"username": localpart_of(alice.user_id), "password": secrets.token_hex(8)}
    expect_error(hs.client().uia_request("POST", ["register"], body, auth=False),
                 400, "M_USER_IN_USE")


def test_deactivating_another_user_is_refused(hs):
    """A password stage naming another user does not deactivate either account.

    Spec: client-server-api/#post_matrixclientv3accountdeactivate — deactivates the user's
    own account (the one the access token belongs to); authenticating as someone else is
    an unsuccessful stage, answered with the 401 challenge plus an errcode.
    """
    alice, bob = hs.register(), hs.register()
    challenge = expect_status(alice.do("POST", ["account", "deactivate"], json={}), 401)
    auth = {"type": "m.login.password", "password": bob.password,
            "identifier": {"type": "m.id.user", "user": bob.user_id}}
    if "session" in challenge:
        auth["session"] = challenge["session"]
    response = alice.do("POST", ["account", "deactivate"], json={"auth": auth})
    failed = expect_status(response, 401)
    assert failed.get("errcode"), f"a failed stage needs an errcode: {failed}"
    alice.whoami()
    bob.whoami()


def _errcode(response) -> str | None:
    try:
        return response.json().get("errcode")
    except ValueError:
        return None
