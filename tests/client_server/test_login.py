# SPDX-License-Identifier: Apache-2.0
"""Password login: login types, user identifiers, devices, and refusals."""
from __future__ import annotations

import secrets

import pytest

from tests.harness.checks import expect_error, expect_ok


def localpart_of(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


def password_login(user: str, password: str, **extra) -> dict:
    """A /login body for `m.login.password` with an `m.id.user` identifier."""
    return {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": password, **extra}


def test_login_flows_list_the_password_type_the_server_accepts(hs):
    """GET /login, without a token, lists `m.login.password` when password login works.

    Spec: client-server-api/#post_matrixclientv3login — the login `type` must be one of the
    types returned by GET /login; client-server-api/#get_matrixclientv3login needs no
    authentication.
    """
    alice = hs.register()
    alice.login()
    body = expect_ok(hs.client().do("GET", ["login"], auth=False), "get the login flows")
    types = [flow.get("type") for flow in body.get("flows", [])]
    assert "m.login.password" in types, (
        f"password login succeeded, yet GET /login lists only {types}")


def test_login_with_localpart(hs):
    """An `m.id.user` identifier holding just the localpart logs the user in.

    Spec: client-server-api/#matrix-user-id — the `user` of an `m.id.user` identifier is
    either the fully qualified user ID or just its localpart.
    """
    alice = hs.register()
    body = expect_ok(hs.client().do("POST", ["login"], auth=False, json=password_login(
        localpart_of(alice.user_id), alice.password)), "log in by localpart")
    assert body["user_id"] == alice.user_id, f"logged in as {body['user_id']}, not {alice.user_id}"


def test_login_with_full_user_id(hs):
    """An `m.id.user` identifier holding the full user ID logs the user in.

    Spec: client-server-api/#matrix-user-id — the fully qualified user ID identifies the
    user; client-server-api/#post_matrixclientv3login returns that user's ID.
    """
    alice = hs.register()
    body = expect_ok(hs.client().do("POST", ["login"], auth=False,
                                    json=password_login(alice.user_id, alice.password)),
                     "log in by user ID")
    assert body["user_id"] == alice.user_id, f"logged in as {body['user_id']}, not {alice.user_id}"


def test_login_with_deprecated_user_field(hs):
    """The deprecated top-level `user` field still identifies the user.

    Spec: client-server-api/#post_matrixclientv3login — `user` (user ID or localpart) is
    deprecated in favour of `identifier` but remains part of the request body.
    """
    alice = hs.register()
    body = {"type": "m.login.password", "user": alice.user_id, "password": alice.password}
    result = expect_ok(hs.client().do("POST", ["login"], auth=False, json=body),
                       "log in with the deprecated user field")
    assert result["user_id"] == alice.user_id, f"logged in as {result['user_id']}"


def test_login_returns_a_working_access_token(hs):
    """The token /login returns identifies the user and the device it names.

    Spec: client-server-api/#post_matrixclientv3login — the access token issued is
    associated with the returned `device_id`.
    """
    alice = hs.register()
    phone = alice.new_device()
    me = phone.whoami()
    assert (me["user_id"], me.get("device_id")) == (alice.user_id, phone.device_id), (
        f"whoami on the new login says {me}, /login said {phone.user_id} {phone.device_id}")


def test_wrong_password_is_forbidden(hs):
    """A wrong password is refused with 403 M_FORBIDDEN.

    Spec: client-server-api/#post_matrixclientv3login — 403 M_FORBIDDEN when the
    authentication data is incorrect.
    """
    alice = hs.register()
    body = password_login(alice.user_id, alice.password + "-wrong")
    expect_error(hs.client().do("POST", ["login"], auth=False, json=body), 403, "M_FORBIDDEN")


def test_unknown_user_is_forbidden(hs):
    """Logging in as a user that does not exist is refused with 403 M_FORBIDDEN.

    Spec: client-server-api/#post_matrixclientv3login — 403 M_FORBIDDEN when the
    authentication data is incorrect.
    """
    nobody = f"@nobody-{secrets.token_hex(6)}:{hs.server_name}"
    body = password_login(nobody, secrets.token_hex(8))
    expect_error(hs.client().do("POST", ["login"], auth=False, json=body), 403, "M_FORBIDDEN")


def test_unknown_login_type_is_a_bad_request(hs):
    """A login `type` the server does not offer is refused with 400.

    Spec: client-server-api/#post_matrixclientv3login — 400 when part of the request is
    invalid, for example an unrecognised login type (the spec names no errcode for it).
    """
    alice = hs.register()
    body = {"type": "org.example.no_such_login", "user": alice.user_id,
            "password": alice.password}
    expect_error(hs.client().do("POST", ["login"], auth=False, json=body), 400)


@pytest.mark.parametrize("missing", [
    pytest.param("type", id="no-type"),
    pytest.param("password", id="no-password"),
])
def test_login_without_a_required_field_is_a_bad_request(hs, missing):
    """A password login missing `type` or `password` is refused with 400.

    Spec: client-server-api/#post_matrixclientv3login — `type` is required and `password`
    is required for m.login.password; a missing key is malformed JSON (M_BAD_JSON) or a
    missing parameter (M_MISSING_PARAM), and the spec allows either.
    """
    alice = hs.register()
    body = password_login(alice.user_id, alice.password)
    del body[missing]
    response = hs.client().do("POST", ["login"], auth=False, json=body)
    error = expect_error(response, 400)
    assert error.get("errcode") in ("M_BAD_JSON", "M_MISSING_PARAM"), (
        f"a login without {missing} should fail with M_BAD_JSON or M_MISSING_PARAM: {error}")


def test_each_login_creates_a_new_device(hs):
    """Two logins without `device_id` get two different devices, both listed.

    Spec: client-server-api/#post_matrixclientv3login — without a `device_id` the server
    MUST auto-generate one for the new access token.
    """
    alice = hs.register(initial_device_display_name="first")
    phone, laptop = alice.new_device(initial_device_display_name="phone"), alice.new_device(initial_device_display_name="laptop")
    ids = {alice.device_id, phone.device_id, laptop.device_id}
    assert len(ids) == 3, f"three sessions share devices: {ids}"
    for session in (phone, laptop):
        assert session.whoami().get("device_id") == session.device_id
    listed = {d["device_id"] for d in expect_ok(alice.do("GET", ["devices"]),
                                                "list devices")["devices"]}
    assert ids <= listed, f"GET /devices lists {sorted(listed)}, missing {sorted(ids - listed)}"


def test_login_with_a_new_device_id_creates_that_device(hs):
    """A `device_id` the user does not have yet becomes the device of the new token.

    Spec: client-server-api/#post_matrixclientv3login — if `device_id` does not correspond
    to a known device a new one is created; the response `device_id` is the requested one.
    """
    alice = hs.register()
    device_id = f"LOGINDEV{secrets.token_hex(4).upper()}"
    phone = alice.new_device(device_id=device_id)
    assert phone.device_id == device_id, f"asked for {device_id}, got {phone.device_id}"
    assert phone.whoami().get("device_id") == device_id


def test_login_with_an_existing_device_id_reuses_the_device(hs):
    """Logging in again with a known `device_id` keeps that device rather than adding one.

    Spec: client-server-api/#relationship-between-access-tokens-and-devices — a client may
    reuse an existing device by giving its `device_id`; the new token is bound to it.
    """
    alice = hs.register(initial_device_display_name="first")
    phone = alice.new_device(initial_device_display_name="phone")
    again = alice.new_device(device_id=phone.device_id)
    assert again.device_id == phone.device_id, f"asked for {phone.device_id}, got {again.device_id}"
    assert again.whoami().get("device_id") == phone.device_id
    devices = expect_ok(alice.do("GET", ["devices"]), "list devices")["devices"]
    listed = sorted(d["device_id"] for d in devices)
    assert listed == sorted([alice.device_id, phone.device_id]), (
        f"reusing {phone.device_id} should not add a device; GET /devices lists {listed}")


def test_initial_device_display_name_names_the_login_device(hs):
    """`initial_device_display_name` at login names the device it creates.

    Spec: client-server-api/#post_matrixclientv3login — the display name is assigned to
    the newly created device.
    """
    alice = hs.register()
    laptop = alice.new_device(initial_device_display_name="Conformance laptop")
    device = laptop.get_device(laptop.device_id)
    assert device.get("display_name") == "Conformance laptop", f"the new device is {device}"


def test_initial_device_display_name_is_ignored_for_a_known_device(hs):
    """Logging in to an existing device keeps its name, whatever the new display name says.

    Spec: client-server-api/#post_matrixclientv3login — `initial_device_display_name` is
    ignored if `device_id` corresponds to a known device.
    """
    alice = hs.register()
    phone = alice.new_device(initial_device_display_name="Original name")
    again = alice.new_device(device_id=phone.device_id,
                             initial_device_display_name="Another name")
    device = again.get_device(phone.device_id)
    assert device.get("display_name") == "Original name", (
        f"re-using the device renamed it: {device}")
