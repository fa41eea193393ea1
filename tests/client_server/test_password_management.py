# SPDX-License-Identifier: Apache-2.0
"""Changing the password: user-interactive auth, the new password, other sessions."""
from __future__ import annotations

import secrets

from tests.harness.checks import expect_error, expect_ok, expect_status


def password_login(user_id: str, password: str) -> dict:
    return {"type": "m.login.password", "password": password,
            "identifier": {"type": "m.id.user", "user": user_id}}


def password_stage(client, password: str, challenge: dict) -> dict:
    """An `m.login.password` auth dict for `client`'s user, in the challenge's session."""
    auth = {"type": "m.login.password", "password": password,
            "identifier": {"type": "m.id.user", "user": client.user_id}}
    if "session" in challenge:
        auth["session"] = challenge["session"]
    return auth


def test_password_change_needs_user_interactive_auth(hs):
    """A password change without `auth` gets a 401 challenge and changes nothing.

    Spec: client-server-api/#post_matrixclientv3accountpassword — the endpoint uses
    user-interactive authentication; client-server-api/#user-interactive-authentication-api
    — such a request never succeeds without auth and MUST get 401 with the flows.
    """
    alice = hs.register()
    response = alice.do("POST", ["account", "password"], json={"new_password": "never-set"})
    challenge = expect_status(response, 401)
    assert challenge.get("flows"), f"the 401 lists no flows: {challenge}"
    expect_ok(hs.client().do("POST", ["login"], auth=False,
                             json=password_login(alice.user_id, alice.password)),
              "log in with the unchanged password")


def test_password_change_with_a_wrong_password_is_refused(hs):
    """A wrong current password fails the stage: 401 with an errcode, password unchanged.

    Spec: client-server-api/#user-interactive-api-in-the-rest-api — an unsuccessful stage
    attempt is answered with the 401 challenge plus `errcode` and `error`.
    """
    alice = hs.register()
    body = {"new_password": "never-set"}
    challenge = expect_status(alice.do("POST", ["account", "password"], json=body), 401)
    auth = password_stage(alice, alice.password + "-wrong", challenge)
    failed = expect_status(alice.do("POST", ["account", "password"],
                                    json={**body, "auth": auth}), 401)
    assert failed.get("errcode") and failed.get("flows"), (
        f"a failed stage needs an errcode and the flows again: {failed}")
    expect_error(hs.client().do("POST", ["login"], auth=False,
                                json=password_login(alice.user_id, "never-set")),
                 403, "M_FORBIDDEN")


def test_new_password_works_and_old_one_does_not(hs):
    """After a change, login works with the new password and fails with the old one.

    Spec: client-server-api/#post_matrixclientv3accountpassword — changes the password for
    the account; client-server-api/#post_matrixclientv3login — wrong authentication data
    gives 403 M_FORBIDDEN.
    """
    alice = hs.register()
    old, new = alice.password, f"new-{secrets.token_hex(8)}"
    alice.change_password(new)
    anonymous = hs.client()
    expect_ok(anonymous.do("POST", ["login"], auth=False,
                           json=password_login(alice.user_id, new)),
              "log in with the new password")
    expect_error(anonymous.do("POST", ["login"], auth=False,
                              json=password_login(alice.user_id, old)), 403, "M_FORBIDDEN")


def test_password_change_logs_out_other_devices_by_default(hs):
    """Without `logout_devices`, the user's other tokens stop working.

    Spec: client-server-api/#post_matrixclientv3accountpassword — `logout_devices` defaults
    to true: the other access tokens are revoked.
    """
    alice = hs.register()
    phone = alice.new_device()
    alice.change_password(f"new-{secrets.token_hex(8)}")
    expect_error(phone.do("GET", ["account", "whoami"]), 401, "M_UNKNOWN_TOKEN")


def test_password_change_deletes_other_devices_by_default(hs):
    """Without `logout_devices`, the user's other devices are removed as well.

    Spec: client-server-api/#post_matrixclientv3accountpassword — with `logout_devices`
    true (the default) other access tokens and their associated devices are revoked.
    """
    alice = hs.register(initial_device_display_name="changer")
    phone = alice.new_device()
    alice.change_password(f"new-{secrets.token_hex(8)}")
    listed = [d["device_id"] for d in alice.devices()]
    assert phone.device_id not in listed, f"{phone.device_id} survived the change: {listed}"


def test_password_change_keeps_the_requesting_session(hs):
    """The token that changed the password keeps working.

    Spec: client-server-api/#post_matrixclientv3accountpassword — the homeserver SHOULD NOT
    revoke the access token provided in the request.
    """
    alice = hs.register()
    alice.new_device()
    alice.change_password(f"new-{secrets.token_hex(8)}")
    assert alice.whoami().get("device_id") == alice.device_id


def test_password_change_without_logout_keeps_other_sessions(hs):
    """With `logout_devices: false` other sessions are not destroyed.

    Spec: client-server-api/#post_matrixclientv3accountpassword — false keeps the other
    tokens and devices, though the server may still soft-logout them; so the other token
    either works or is refused with M_UNKNOWN_TOKEN and `soft_logout: true`.
    """
    alice = hs.register()
    phone = alice.new_device()
    alice.change_password(f"new-{secrets.token_hex(8)}", logout_devices=False)
    response = phone.do("GET", ["account", "whoami"])
    if response.status_code != 200:
        error = expect_error(response, 401, "M_UNKNOWN_TOKEN")
        assert error.get("soft_logout") is True, (
            f"logout_devices was false, yet the other session was hard logged out: {error}")


def test_password_change_without_new_password_is_a_bad_request(hs):
    """A change request lacking `new_password` fails with 400, and nothing changes.

    Spec: client-server-api/#post_matrixclientv3accountpassword — `new_password` is
    required; a missing key is malformed JSON (M_BAD_JSON) or a missing parameter
    (M_MISSING_PARAM), and the spec allows either, before or after the auth stages.
    """
    alice = hs.register()
    error = expect_error(alice.uia_request("POST", ["account", "password"], {}), 400)
    assert error.get("errcode") in ("M_BAD_JSON", "M_MISSING_PARAM"), (
        f"a missing new_password should give M_BAD_JSON or M_MISSING_PARAM: {error}")
    alice.whoami()
