# SPDX-License-Identifier: Apache-2.0
"""Logging out one session, or every session of a user."""
from __future__ import annotations

from tests.harness.checks import expect_error, expect_ok


def expect_logged_out(client) -> None:
    """The client's old token is refused as unknown, and not as a soft logout."""
    error = expect_error(client.do("GET", ["account", "whoami"]), 401, "M_UNKNOWN_TOKEN")
    assert error.get("soft_logout") is not True, (
        f"a logged-out session is gone for good, so soft_logout must not be true: {error}")


def test_logout_invalidates_the_access_token(hs):
    """After /logout the token is refused with 401 M_UNKNOWN_TOKEN, as a hard logout.

    Spec: client-server-api/#post_matrixclientv3logout — the access token can no longer be
    used; client-server-api/#using-access-tokens — a logged-out token gives M_UNKNOWN_TOKEN,
    and client-server-api/#soft-logout — without `soft_logout: true` the session is gone.
    """
    alice = hs.register()
    token_holder = alice.new_device()
    expect_ok(token_holder.do("POST", ["logout"], json={}), "log out")
    expect_logged_out(token_holder)


def test_logout_deletes_the_device(hs):
    """The device of the logged-out token disappears from the user's device list.

    Spec: client-server-api/#post_matrixclientv3logout — the device associated with the
    access token is also deleted.
    """
    alice = hs.register(initial_device_display_name="stays")
    phone = alice.new_device()
    gone = phone.device_id
    phone.logout()
    listed = [d["device_id"] for d in alice.devices()]
    assert gone not in listed, f"{gone} was logged out but GET /devices still lists it: {listed}"
    expect_error(alice.do("GET", ["devices", gone]), 404)


def test_logout_leaves_other_sessions_working(hs):
    """Logging out one device does not affect the user's other devices.

    Spec: client-server-api/#post_matrixclientv3logout — only the access token used in the
    request is invalidated (contrast /logout/all).
    """
    alice = hs.register()
    phone = alice.new_device()
    phone.logout()
    me = alice.whoami()
    assert me.get("device_id") == alice.device_id, f"the other session now says {me}"


def test_logout_without_a_token_is_refused(hs):
    """/logout without an access token gets 401 M_MISSING_TOKEN.

    Spec: client-server-api/#using-access-tokens — missing credentials give 401
    M_MISSING_TOKEN; /logout requires an access token.
    """
    expect_error(hs.client().do("POST", ["logout"], json={}, auth=False), 401, "M_MISSING_TOKEN")


def test_logout_all_invalidates_every_token(hs):
    """/logout/all makes every access token of the user unusable, the caller's included.

    Spec: client-server-api/#post_matrixclientv3logoutall — invalidates all access tokens
    for the user, including the one that made the request.
    """
    alice = hs.register()
    phone, laptop = alice.new_device(), alice.new_device()
    expect_ok(phone.do("POST", ["logout", "all"], json={}), "log out everywhere")
    for session in (alice, phone, laptop):
        expect_logged_out(session)


def test_logout_all_deletes_every_device(hs):
    """After /logout/all the user has no devices left but the one of a fresh login.

    Spec: client-server-api/#post_matrixclientv3logoutall — all devices for the user are
    deleted as well.
    """
    alice = hs.register()
    alice.new_device()
    expect_ok(alice.do("POST", ["logout", "all"], json={}), "log out everywhere")
    fresh = alice.new_device(initial_device_display_name="fresh")
    listed = [d["device_id"] for d in fresh.devices()]
    assert listed == [fresh.device_id], (
        f"/logout/all should delete every device; now GET /devices lists {listed}")


def test_logout_all_leaves_the_password_working(hs):
    """/logout/all ends sessions, not the account: the user can log in again.

    Spec: client-server-api/#post_matrixclientv3logoutall — it invalidates access tokens
    and devices only; client-server-api/#post_matrixclientv3login still accepts the user.
    """
    alice = hs.register()
    expect_ok(alice.do("POST", ["logout", "all"], json={}), "log out everywhere")
    fresh = alice.new_device()
    assert fresh.whoami()["user_id"] == alice.user_id
