# SPDX-License-Identifier: Apache-2.0
"""Creating and logging in users of an application service's namespace.

The service registers users with `m.login.application_service` and its `as_token`, with
no user-interactive authentication; the exclusive users namespace is closed to everyone
else, the non-exclusive one is not. The service may also log in as its users.

Spec: application-service-api/#server-admin-style-permissions,
client-server-api/#appservice-login, client-server-api/#post_matrixclientv3register.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok, expect_one_error

pytestmark = pytest.mark.appservice

APPSERVICE_LOGIN = "m.login.application_service"


def as_registration(localpart: str, **extra) -> dict:
    return {"type": APPSERVICE_LOGIN, "username": localpart, **extra}


def as_login(user: str) -> dict:
    return {"type": APPSERVICE_LOGIN, "identifier": {"type": "m.id.user", "user": user}}


def test_appservice_registers_user_in_its_exclusive_namespace(appservice):
    """The service registers a user of its exclusive namespace without UIA or password.

    Spec: application-service-api/#server-admin-style-permissions — the as_token with
    the `m.login.application_service` type bypasses the registration flows and sets the
    desired user ID; the service then acts as that user by identity assertion.
    """
    localpart = appservice.fresh_user_localpart()
    body = expect_ok(appservice.as_client().do(
        "POST", ["register"], json=as_registration(localpart, inhibit_login=True)),
        "register a user of the exclusive namespace as the application service")
    expected = f"@{localpart}:{appservice.hs.server_name}"
    assert body["user_id"] == expected, f"registered {body['user_id']}, asked for {expected}"
    me = appservice.as_client(user_id=expected).whoami()
    assert me["user_id"] == expected, f"whoami as the new user says {me}"


def test_appservice_registers_user_in_its_non_exclusive_namespace(appservice):
    """A non-exclusive users namespace is the service's too: it may register there.

    Spec: application-service-api/#server-admin-style-permissions — only users
    *outside* the service's namespaces are refused; exclusivity only keeps others out.
    """
    localpart = appservice.fresh_user_localpart(exclusive=False)
    body = expect_ok(appservice.as_client().do(
        "POST", ["register"], json=as_registration(localpart, inhibit_login=True)),
        "register a user of the non-exclusive namespace as the application service")
    assert body["user_id"] == f"@{localpart}:{appservice.hs.server_name}", body


def test_appservice_registration_with_inhibit_login_returns_no_token(appservice):
    """With `inhibit_login`, registration creates the user but logs nobody in.

    Spec: client-server-api/#post_matrixclientv3register — with `inhibit_login` true an
    access token and device ID should not be returned (and servers without the legacy
    authentication API require it of application services, v1.17).
    """
    body = expect_ok(appservice.as_client().do(
        "POST", ["register"],
        json=as_registration(appservice.fresh_user_localpart(), inhibit_login=True)),
        "register a user with inhibit_login")
    assert "access_token" not in body, f"inhibit_login was set, yet a token came back: {body}"


def test_appservice_registration_without_inhibit_login_logs_in_or_is_refused(appservice):
    """Without `inhibit_login` the new user is logged in, or the server says it cannot.

    Spec: client-server-api/#post_matrixclientv3register — the answer carries a working
    access token for the new user; a server without the legacy authentication API must
    instead answer 400 M_APPSERVICE_LOGIN_UNSUPPORTED (v1.17). Either is conformant.
    """
    localpart = appservice.fresh_user_localpart()
    response = appservice.as_client().do("POST", ["register"], json=as_registration(localpart))
    if response.status_code == 400:
        expect_error(response, 400, "M_APPSERVICE_LOGIN_UNSUPPORTED")
    else:
        body = expect_ok(response, f"register {localpart} and log in")
        client = appservice.hs.client()
        client._adopt(body)  # noqa: SLF001 — a Client owning the token registration returned
        me = client.whoami()
        assert me["user_id"] == body["user_id"] == f"@{localpart}:{appservice.hs.server_name}", (
            f"registration said {body}, whoami with its token says {me}")


@pytest.mark.parametrize("localpart", [
    pytest.param("plain_user", id="outside-every-namespace"),
    pytest.param("confasx", id="near-miss-of-the-namespace-regex"),
])
def test_appservice_cannot_register_outside_its_namespaces(appservice, localpart):
    """A user ID none of the service's namespaces covers is refused with M_EXCLUSIVE.

    Spec: application-service-api/#server-admin-style-permissions — services creating
    users outside their namespaces receive M_EXCLUSIVE (400 on /register).
    """
    username = f"{localpart}_{appservice.tag}".replace("-", "_")
    response = appservice.as_client().do("POST", ["register"],
                                         json=as_registration(username, inhibit_login=True))
    expect_error(response, 400, "M_EXCLUSIVE")


def test_appservice_cannot_register_a_taken_user_id(appservice):
    """Registering a namespaced user twice is refused with M_USER_IN_USE.

    Spec: client-server-api/#post_matrixclientv3register — 400 M_USER_IN_USE when the
    desired user ID is already taken.
    """
    localpart = appservice.fresh_user_localpart()
    appservice.register_user(localpart)
    response = appservice.as_client().do("POST", ["register"],
                                         json=as_registration(localpart, inhibit_login=True))
    expect_error(response, 400, "M_USER_IN_USE")


def _no_token(hs, body):
    return hs.client().do("POST", ["register"], json=body, auth=False)


def _unknown_token(hs, body):
    return hs.client().do("POST", ["register"], json=body, auth=False,
                          headers={"Authorization": "Bearer not_a_token_of_this_server"})


def _user_token(hs, body):
    return hs.register().do("POST", ["register"], json=body)


@pytest.mark.parametrize("send, allowed", [
    pytest.param(_no_token, [(401, "M_MISSING_TOKEN")], id="no-token"),
    pytest.param(_unknown_token, [(401, "M_UNKNOWN_TOKEN")], id="unknown-token"),
    pytest.param(_user_token, [(401, "M_UNKNOWN_TOKEN"), (401, "M_MISSING_TOKEN")],
                 id="a-user-access-token"),
])
def test_appservice_registration_type_needs_the_as_token(hs, appservice, send, allowed):
    """`m.login.application_service` registration without a valid as_token gets a 401.

    Spec: application-service-api/#server-admin-style-permissions — without a valid
    as_token, /register answers 401 with M_MISSING_TOKEN or M_UNKNOWN_TOKEN, as invalid
    authentication does anywhere (a missing token is M_MISSING_TOKEN, an unrecognised one
    M_UNKNOWN_TOKEN; a user's token is not an as_token, so either code fits).
    """
    body = as_registration(appservice.fresh_user_localpart(), inhibit_login=True)
    expect_one_error(send(hs, body), *allowed)


def test_normal_user_cannot_register_in_exclusive_namespace(hs, appservice):
    """A normal registration of an exclusively claimed user ID fails before UIA.

    Spec: client-server-api/#post_matrixclientv3register — 400 M_EXCLUSIVE for a user ID
    in an application service's exclusive namespace, and such checks MUST happen before
    user-interactive authentication (so no 401 with flows comes first).
    """
    response = hs.client().do("POST", ["register"], auth=False, json={
        "username": appservice.fresh_user_localpart(), "password": "a-fine-password-1"})
    expect_error(response, 400, "M_EXCLUSIVE")


def test_normal_user_may_register_in_non_exclusive_namespace(hs, appservice):
    """A user ID of a non-exclusive namespace stays open to ordinary registration.

    Spec: application-service-api/#server-admin-style-permissions — normal users get
    M_EXCLUSIVE inside a namespace only if the service defined it as exclusive.
    """
    localpart = appservice.fresh_user_localpart(exclusive=False)
    client = hs.register(localpart)
    assert client.user_id == f"@{localpart}:{hs.server_name}", client.user_id


def test_username_in_exclusive_namespace_is_unavailable(hs, appservice):
    """/register/available refuses a username an application service claims exclusively.

    Spec: client-server-api/#get_matrixclientv3registeravailable — the server should
    verify that no application service has claimed the username: 400 M_EXCLUSIVE.
    """
    response = hs.client().do("GET", ["register", "available"], auth=False,
                              params={"username": appservice.fresh_user_localpart()})
    expect_error(response, 400, "M_EXCLUSIVE")


def test_username_in_non_exclusive_namespace_is_available(hs, appservice):
    """/register/available offers a free username of a non-exclusive namespace.

    Spec: client-server-api/#get_matrixclientv3registeravailable — a free, valid username
    nobody claims exclusively is available (200, `available: true`).
    """
    localpart = appservice.fresh_user_localpart(exclusive=False)
    response = hs.client().do("GET", ["register", "available"], auth=False,
                              params={"username": localpart})
    assert expect_ok(response, f"check {localpart}")["available"] is True


@pytest.mark.spec("1.2")
def test_login_flows_list_the_application_service_type(hs, appservice):
    """GET /login lists `m.login.application_service` among the supported types.

    Spec: client-server-api/#get_matrixclientv3login — the answer lists the login types
    the server supports; client-server-api/#appservice-login (v1.2) is one of them.
    """
    flows = expect_ok(hs.client().do("GET", ["login"], auth=False), "get the login flows")
    types = [flow["type"] for flow in flows["flows"]]
    assert APPSERVICE_LOGIN in types, f"GET /login lists {types}"


@pytest.mark.spec("1.2")
@pytest.mark.parametrize("full_user_id", [
    pytest.param(False, id="by-localpart"),
    pytest.param(True, id="by-user-id"),
])
def test_appservice_logs_in_as_namespaced_user(appservice, full_user_id):
    """The service logs in as one of its registered users and gets a working token.

    Spec: client-server-api/#appservice-login — with the as_token, an `m.id.user`
    identifier (user ID or localpart) of the namespace logs in without a password.
    """
    user = appservice.register_user()
    localpart = user.user_id[1:].split(":", 1)[0]
    client = appservice.log_in(user.user_id if full_user_id else localpart)
    me = client.whoami()
    assert me["user_id"] == user.user_id, f"the login's token belongs to {me}"
    assert me.get("device_id") == client.device_id, f"whoami {me}, login {client.device_id}"


@pytest.mark.spec("1.2")
def test_appservice_cannot_log_in_outside_its_namespace(hs, appservice):
    """Logging in as a user outside the service's namespaces is refused with M_EXCLUSIVE.

    Spec: client-server-api/#appservice-login — a user ID outside the namespace gets
    M_EXCLUSIVE. No status is named; /login documents 400 and 403 for refusals.
    """
    alice = hs.register()
    response = appservice.as_client().do("POST", ["login"], json=as_login(alice.user_id))
    expect_one_error(response, (400, "M_EXCLUSIVE"), (403, "M_EXCLUSIVE"))


@pytest.mark.spec("1.2")
def test_appservice_cannot_log_in_as_unregistered_user(appservice):
    """Logging in as a namespaced user that was never registered is refused.

    Spec: client-server-api/#appservice-login — if the user has not previously been
    registered the homeserver answers M_FORBIDDEN (403 on /login).
    """
    response = appservice.as_client().do("POST", ["login"],
                                         json=as_login(appservice.fresh_user_id()))
    expect_error(response, 403, "M_FORBIDDEN")


@pytest.mark.spec("1.2")
def test_appservice_login_type_needs_the_as_token(hs, appservice):
    """`m.login.application_service` login without any token is refused.

    Spec: application-service-api/#server-admin-style-permissions — without a valid
    as_token, /login answers 401 M_MISSING_TOKEN or M_UNKNOWN_TOKEN (v1.10); the older
    client-server-api/#appservice-login text says M_FORBIDDEN, so 403 M_FORBIDDEN is
    also accepted.
    """
    user = appservice.register_user()
    response = hs.client().do("POST", ["login"], json=as_login(user.user_id), auth=False)
    expect_one_error(response, (401, "M_MISSING_TOKEN"), (401, "M_UNKNOWN_TOKEN"),
                     (403, "M_FORBIDDEN"))
