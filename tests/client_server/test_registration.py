# SPDX-License-Identifier: Apache-2.0
"""Account registration: the user-interactive dance, usernames, devices, availability.

Every raw registration goes through `uia_request`, which completes whichever stages the
suite was told it can do (`m.login.dummy`, or a registration token), so these tests run
against servers with open or token-guarded sign-up alike.
"""
from __future__ import annotations

import re
import secrets

import pytest

from tests.harness.checks import expect_error, expect_ok, expect_status

# Spec (appendices, user identifiers): localparts of new user IDs use only these.
COMPLIANT_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")


def fresh_localpart(prefix: str = "reg") -> str:
    """A localpart no earlier run or parallel test has used."""
    return f"{prefix}-{secrets.token_hex(6)}"


def localpart_of(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


def assert_compliant_user_id(user_id: str, server_name: str) -> None:
    localpart, _, server = user_id[1:].partition(":")
    assert user_id.startswith("@") and COMPLIANT_LOCALPART.match(localpart), (
        f"new user IDs must use only a-z 0-9 . _ = - / + in the localpart, got {user_id!r}")
    assert server == server_name, f"{user_id} is not on this server ({server_name})"
    assert len(user_id.encode()) <= 255, f"{user_id!r} is longer than 255 bytes"


def available(hs, username: str):
    return hs.client().do("GET", ["register", "available"], params={"username": username},
                          auth=False)


def test_register_without_auth_is_challenged_with_flows(hs):
    """A first /register request without `auth` gets 401 with the flows, and no account.

    Spec: client-server-api/#user-interactive-authentication-api — a request to a UIA
    endpoint never succeeds without auth: the server MUST answer 401 with `flows`, each a
    list of `stages`, and a `session` to pass back if it gives one.
    """
    username = fresh_localpart()
    response = hs.client().do("POST", ["register"], auth=False,
                              json={"username": username, "password": secrets.token_hex(8)})
    challenge = expect_status(response, 401)
    flows = challenge.get("flows")
    assert isinstance(flows, list) and flows, f"the 401 lists no flows: {challenge}"
    for flow in flows:
        assert isinstance(flow.get("stages"), list), f"a flow without stages: {flow}"
    answer = expect_ok(available(hs, username), f"check that {username} is still free")
    assert answer.get("available") is True, f"{username} was registered without auth: {answer}"


def test_dummy_stage_completes_registration(hs):
    """Submitting `m.login.dummy` with the session completes a dummy-only flow.

    Spec: client-server-api/#dummy-auth — dummy authentication always succeeds; once every
    stage of a flow is done the server MUST perform the call (here: register and log in).
    Needs a target offering open registration (the suite's default).
    """
    client = hs.client()
    body = {"username": fresh_localpart(), "password": secrets.token_hex(8)}
    challenge = expect_status(client.do("POST", ["register"], json=body, auth=False), 401)
    assert any(flow.get("stages") == ["m.login.dummy"] for flow in challenge.get("flows", [])), (
        f"no flow of just m.login.dummy is offered (open registration?): {challenge}")
    auth = {"type": "m.login.dummy"}
    if "session" in challenge:
        auth["session"] = challenge["session"]
    result = expect_ok(client.do("POST", ["register"], json={**body, "auth": auth}, auth=False),
                       "complete registration with m.login.dummy")
    for key in ("user_id", "access_token", "device_id"):
        assert key in result, f"a registration without inhibit_login must return {key}: {result}"


def test_registration_returns_a_working_access_token(hs):
    """The access token from /register identifies the new user and device.

    Spec: client-server-api/#post_matrixclientv3register — on success the server issues an
    access token the client can use, associated with the returned `device_id`.
    """
    alice = hs.register()
    me = alice.whoami()
    assert me["user_id"] == alice.user_id, f"whoami says {me}, /register said {alice.user_id}"
    assert me.get("device_id") == alice.device_id, (
        f"whoami names device {me.get('device_id')}, /register returned {alice.device_id}")


def test_registration_without_username_generates_a_valid_user_id(hs):
    """Without `username` the server picks a localpart that follows the user ID grammar.

    Spec: client-server-api/#post_matrixclientv3register — if `username` is omitted the
    homeserver MUST generate a localpart; any user ID returned MUST conform to
    appendices/#user-identifiers.
    """
    client = hs.client()
    body = expect_ok(client.uia_request("POST", ["register"],
                                        {"password": secrets.token_hex(8)}, auth=False),
                     "register without a username")
    assert_compliant_user_id(body["user_id"], hs.server_name)


def test_inhibit_login_returns_no_access_token(hs):
    """With `inhibit_login` the account is made but no access token or device is returned.

    Spec: client-server-api/#post_matrixclientv3register — if `inhibit_login` is true an
    `access_token` and `device_id` SHOULD NOT be returned; the account still exists.
    """
    client = hs.client()
    password = secrets.token_hex(8)
    body = expect_ok(client.uia_request("POST", ["register"], {
        "username": fresh_localpart(), "password": password, "inhibit_login": True,
    }, auth=False), "register with inhibit_login")
    assert "access_token" not in body and "device_id" not in body, (
        f"inhibit_login was set, yet the server logged the user in: {body}")
    login = {"type": "m.login.password", "password": password,
             "identifier": {"type": "m.id.user", "user": body["user_id"]}}
    expect_ok(client.do("POST", ["login"], json=login, auth=False),
              f"log in as {body['user_id']}, registered with inhibit_login")


def test_registration_uses_the_requested_device_id(hs):
    """A `device_id` given at registration is the device the token belongs to.

    Spec: client-server-api/#post_matrixclientv3register — the returned `device_id` is the
    same as the one in the request, and the access token is associated with it.
    """
    device_id = f"REGDEV{secrets.token_hex(4).upper()}"
    alice = hs.register(device_id=device_id, initial_device_display_name="Requested")
    assert alice.device_id == device_id, f"asked for {device_id}, got {alice.device_id}"
    listed = [d["device_id"] for d in alice.devices()]
    assert listed == [device_id], f"GET /devices lists {listed}, expected only {device_id}"


def test_registration_generates_a_device_id_when_none_is_given(hs):
    """Without `device_id` the server makes up one, and it is the user's device.

    Spec: client-server-api/#post_matrixclientv3register — if the client does not supply a
    `device_id`, the server MUST auto-generate one.
    """
    alice = hs.register(initial_device_display_name="Generated")
    assert alice.device_id, "registration returned no device_id"
    listed = [d["device_id"] for d in alice.devices()]
    assert alice.device_id in listed, f"GET /devices lists {listed}, not {alice.device_id}"


def test_initial_device_display_name_names_the_new_device(hs):
    """`initial_device_display_name` becomes the display name of the registered device.

    Spec: client-server-api/#post_matrixclientv3register — the display name is assigned to
    the newly created device.
    """
    alice = hs.register(initial_device_display_name="Conformance phone")
    device = alice.get_device(alice.device_id)
    assert device.get("display_name") == "Conformance phone", (
        f"the new device is {device}, expected display_name 'Conformance phone'")


def test_taken_username_is_refused_before_authentication(hs):
    """Registering a taken username fails with 400 M_USER_IN_USE, before any UIA stage.

    Spec: client-server-api/#post_matrixclientv3register — M_USER_IN_USE when the user ID
    is taken; homeservers MUST perform this check before user-interactive authentication.
    """
    alice = hs.register()
    body = {"username": localpart_of(alice.user_id), "password": secrets.token_hex(8)}
    expect_error(hs.client().do("POST", ["register"], json=body, auth=False),
                 400, "M_USER_IN_USE")


def test_taken_username_is_refused_after_authentication(hs):
    """Completing the stages does not let a taken username through: 400 M_USER_IN_USE.

    Spec: client-server-api/#post_matrixclientv3register — M_USER_IN_USE may be returned at
    any stage of the registration process, and the user ID stays with its first owner.
    """
    alice = hs.register()
    body = {"username": localpart_of(alice.user_id), "password": secrets.token_hex(8)}
    expect_error(hs.client().uia_request("POST", ["register"], body, auth=False),
                 400, "M_USER_IN_USE")
    alice.whoami()


@pytest.mark.parametrize("username", [
    pytest.param("sp ace", id="space"),
    pytest.param("at@sign", id="at-sign"),
    pytest.param("co:lon", id="colon"),
    pytest.param("st*r", id="asterisk"),
    pytest.param("caf\u00e9", id="non-ascii"),
])
def test_non_compliant_username_is_rejected_or_mapped(hs, username):
    """A username outside the localpart grammar is refused with M_INVALID_USERNAME or mapped.

    Spec: client-server-api/#post_matrixclientv3register — the server MUST either map the
    username onto a valid user ID or reject it with M_INVALID_USERNAME; any user ID it
    returns MUST follow appendices/#user-identifiers.
    """
    body = {"username": f"{username}-{secrets.token_hex(4)}", "password": secrets.token_hex(8)}
    response = hs.client().uia_request("POST", ["register"], body, auth=False)
    if response.status_code == 200:
        assert_compliant_user_id(response.json()["user_id"], hs.server_name)
    else:
        expect_error(response, 400, "M_INVALID_USERNAME")


def test_uppercase_username_is_downcased_or_rejected(hs):
    """An upper-case username registers its lower-case user ID, or is refused.

    Spec: appendices/#user-identifiers — upper case is not allowed in user IDs and
    homeservers downcase usernames when creating user IDs; client-server-api/
    #post_matrixclientv3register — otherwise the username is rejected with M_INVALID_USERNAME.
    """
    username = fresh_localpart("UpPer")
    body = {"username": username, "password": secrets.token_hex(8)}
    response = hs.client().uia_request("POST", ["register"], body, auth=False)
    if response.status_code == 200:
        user_id = response.json()["user_id"]
        assert user_id == f"@{username.lower()}:{hs.server_name}", (
            f"registering {username!r} made {user_id}, not its lower-case form")
    else:
        expect_error(response, 400, "M_INVALID_USERNAME")


def test_username_availability_of_a_free_name(hs):
    """/register/available says `available: true` for a name nobody has.

    Spec: client-server-api/#get_matrixclientv3registeravailable — 200 with `available`
    true when the username is available and valid.
    """
    body = expect_ok(available(hs, fresh_localpart()), "check a free username")
    assert body.get("available") is True, f"a free username is reported as {body}"


def test_username_availability_of_a_taken_name(hs):
    """/register/available refuses a registered name with 400 M_USER_IN_USE.

    Spec: client-server-api/#get_matrixclientv3registeravailable — M_USER_IN_USE when the
    desired username is already taken.
    """
    alice = hs.register()
    expect_error(available(hs, localpart_of(alice.user_id)), 400, "M_USER_IN_USE")


@pytest.mark.parametrize("username", [
    pytest.param("co:lon", id="colon"),
    pytest.param("sp ace", id="space"),
])
def test_username_availability_agrees_with_registration(hs, username):
    """/register/available calls a name invalid exactly when /register refuses it as invalid.

    Spec: client-server-api/#get_matrixclientv3registeravailable — the endpoint checks that
    the name is available and valid for the server (M_INVALID_USERNAME otherwise); a name
    /register maps onto a user ID is valid there, one it refuses with M_INVALID_USERNAME
    is not.
    """
    name = f"{username}-{secrets.token_hex(4)}"
    check = available(hs, name)
    registration = hs.client().uia_request(
        "POST", ["register"], {"username": name, "password": secrets.token_hex(8)}, auth=False)
    if registration.status_code == 200:
        body = expect_ok(check, f"check {name!r}, which /register then accepted")
        assert body.get("available") is True, f"/register accepted {name!r}; /available: {body}"
    else:
        expect_error(registration, 400, "M_INVALID_USERNAME")
        expect_error(check, 400, "M_INVALID_USERNAME")


def test_unknown_auth_stage_is_not_accepted(hs):
    """An `auth.type` that is in no offered flow is answered with 401 and the flows again.

    Spec: client-server-api/#user-interactive-api-in-the-rest-api — failing to follow the
    flows MUST result in a 401 response carrying the flows; the call is not performed.
    """
    client = hs.client()
    username = fresh_localpart()
    body = {"username": username, "password": secrets.token_hex(8)}
    challenge = expect_status(client.do("POST", ["register"], json=body, auth=False), 401)
    auth = {"type": "org.example.no_such_stage", **_session_of(challenge)}
    again = expect_status(client.do("POST", ["register"], json={**body, "auth": auth},
                                    auth=False), 401)
    assert again.get("flows"), f"the 401 for an unknown stage lists no flows: {again}"
    assert expect_ok(available(hs, username), "check the username")["available"] is True


def test_made_up_session_does_not_complete_registration(hs):
    """An `auth.session` the server never issued does not let registration through.

    Spec: client-server-api/#user-interactive-api-in-the-rest-api — a session is an
    identifier the homeserver hands out and the client passes back; one it never handed out
    completes nothing, so the answer is an error (400) or a fresh challenge (401).
    """
    username = fresh_localpart()
    body = {"username": username, "password": secrets.token_hex(8),
            "auth": {"type": "m.login.dummy", "session": f"made-up-{secrets.token_hex(8)}"}}
    response = hs.client().do("POST", ["register"], json=body, auth=False)
    assert response.status_code in (400, 401), (
        f"a made-up session should be refused with 400 or 401; got {response.status_code} "
        f"{response.text[:300]}")
    assert expect_ok(available(hs, username), "check the username")["available"] is True


def _session_of(challenge: dict) -> dict:
    return {"session": challenge["session"]} if "session" in challenge else {}
