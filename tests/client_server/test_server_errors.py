# SPDX-License-Identifier: Apache-2.0
"""The generic rules every endpoint follows: error bodies, bad requests, tokens, CORS.

Spec: client-server-api/#api-standards (standard error response, common error codes)
and client-server-api/#web-browser-clients (CORS).
"""
from __future__ import annotations

import json as jsonlib
import secrets

import pytest

from tests.harness.assertions import expect_one_error
from tests.harness.checks import expect_error, expect_ok

CLIENT = "/_matrix/client"
V3 = "/_matrix/client/v3"
CORS_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
CORS_HEADERS = ["X-Requested-With", "Content-Type", "Authorization"]


def _standard_error(response, status: int, errcode: str) -> None:
    """The status and errcode, and an `error` message: both keys MUST be present."""
    body = expect_error(response, status, errcode)
    assert isinstance(body.get("error"), str), (
        f"a standard error response needs an 'error' string; got {body}")


def _listed(header: str | None) -> set[str]:
    return {item.strip().lower() for item in (header or "").split(",") if item.strip()}


# -- unknown endpoints and methods -----------------------------------------------------

@pytest.mark.parametrize("prefix, path", [
    pytest.param(V3, ["org.example.no_such_endpoint"], id="unknown-path"),
    pytest.param(V3, ["rooms", "!r:example.org", "org.example.no_such_action"],
                 id="unknown-room-action"),
    pytest.param(CLIENT, ["v99", "org.example.nothing"], id="unknown-api-version"),
])
def test_unknown_endpoint_is_unrecognized(hs, prefix, path):
    """A request to an endpoint the server does not have answers 404 M_UNRECOGNIZED.

    Spec: client-server-api/#common-error-codes — M_UNRECOGNIZED is expected with a 404
    when the endpoint is not implemented; client-server-api/#standard-error-response —
    `errcode` and `error` MUST both be present.
    """
    alice = hs.register()
    _standard_error(alice.do("GET", path, prefix=prefix), 404, "M_UNRECOGNIZED")


@pytest.mark.parametrize("method, path", [
    pytest.param("POST", ["account", "whoami"], id="post-whoami"),
    pytest.param("PUT", ["login"], id="put-login"),
    pytest.param("DELETE", ["sync"], id="delete-sync"),
    pytest.param("GET", ["createRoom"], id="get-createRoom"),
])
def test_wrong_method_on_known_endpoint_is_unrecognized(hs, method, path):
    """A known endpoint called with a method it does not support answers 405 M_UNRECOGNIZED.

    Spec: client-server-api/#common-error-codes — M_UNRECOGNIZED is expected with a 405
    when the endpoint is implemented but the wrong HTTP method is used.
    """
    alice = hs.register()
    body = {} if method in ("POST", "PUT") else None
    _standard_error(alice.do(method, path, json=body), 405, "M_UNRECOGNIZED")


# -- request bodies ------------------------------------------------------------------------

def _body_endpoints(alice) -> dict[str, tuple[str, list[str]]]:
    return {
        "createRoom": ("POST", ["createRoom"]),
        "displayname": ("PUT", ["profile", alice.user_id, "displayname"]),
        "filter": ("POST", ["user", alice.user_id, "filter"]),
        "account-data": ("PUT", ["user", alice.user_id, "account_data", "org.example.x"]),
    }


@pytest.mark.parametrize("endpoint", ["createRoom", "displayname", "filter", "account-data"])
@pytest.mark.parametrize("content", [
    pytest.param(b"{not json", id="broken-json"),
    pytest.param(b"{'single': 'quotes'}", id="single-quotes"),
    pytest.param(b'{"room": "\xff\xfe"}', id="not-utf-8"),
])
def test_body_that_is_not_json_is_rejected(hs, endpoint, content):
    """A body that is not valid JSON is refused with 400 M_NOT_JSON.

    Spec: client-server-api/#common-error-codes — M_NOT_JSON: the request did not contain
    valid JSON; client-server-api/#api-standards — JSON MUST be encoded as UTF-8.
    """
    alice = hs.register()
    method, path = _body_endpoints(alice)[endpoint]
    response = alice.do(method, path, content=content,
                        headers={"Content-Type": "application/json"})
    _standard_error(response, 400, "M_NOT_JSON")


@pytest.mark.parametrize("endpoint", ["createRoom", "displayname", "filter"])
@pytest.mark.parametrize("body", [
    pytest.param([], id="array"),
    pytest.param("a string", id="string"),
    pytest.param(42, id="number"),
    pytest.param(None, id="null"),
])
def test_json_body_that_is_not_an_object_is_rejected(hs, endpoint, body):
    """A JSON body that is not an object is refused with 400 M_BAD_JSON.

    Spec: client-server-api/#api-standards — POST and PUT endpoints require a JSON object
    as the body; client-server-api/#common-error-codes — M_BAD_JSON: the request
    contained valid JSON that was malformed in some way.
    """
    alice = hs.register()
    method, path = _body_endpoints(alice)[endpoint]
    response = alice.do(method, path, content=jsonlib.dumps(body).encode(),
                        headers={"Content-Type": "application/json"})
    _standard_error(response, 400, "M_BAD_JSON")


@pytest.mark.parametrize("endpoint, body", [
    pytest.param("invite", {}, id="invite-without-user_id"),
    pytest.param("typing", {}, id="typing-without-typing"),
])
def test_body_missing_a_required_key_is_rejected(hs, endpoint, body):
    """A body missing a required key is refused with 400 M_BAD_JSON or M_MISSING_PARAM.

    Spec: client-server-api/#common-error-codes — M_BAD_JSON covers a request missing
    required keys; client-server-api/#other-error-codes — M_MISSING_PARAM names a
    missing required parameter. The spec allows both here.
    """
    alice = hs.register()
    room = alice.create_room()
    path = {"invite": ["rooms", room, "invite"],
            "typing": ["rooms", room, "typing", alice.user_id]}[endpoint]
    method = "POST" if endpoint == "invite" else "PUT"
    expect_one_error(alice.do(method, path, json=body),
                     (400, "M_BAD_JSON"), (400, "M_MISSING_PARAM"))


# -- access tokens -----------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    pytest.param("GET", ["account", "whoami"], id="whoami"),
    pytest.param("GET", ["sync"], id="sync"),
    pytest.param("POST", ["createRoom"], id="createRoom"),
    pytest.param("GET", ["joined_rooms"], id="joined_rooms"),
])
def test_missing_access_token_is_rejected(hs, method, path):
    """An endpoint that needs authentication refuses a request without a token: 401 M_MISSING_TOKEN.

    Spec: client-server-api/#using-access-tokens and #common-error-codes — M_MISSING_TOKEN
    when no access token was given.
    """
    body = {} if method == "POST" else None
    _standard_error(hs.client().do(method, path, json=body, auth=False), 401, "M_MISSING_TOKEN")


@pytest.mark.parametrize("method, path", [
    pytest.param("GET", ["account", "whoami"], id="whoami"),
    pytest.param("GET", ["sync"], id="sync"),
    pytest.param("POST", ["createRoom"], id="createRoom"),
])
def test_unknown_access_token_is_rejected(hs, method, path):
    """A token the server never issued is refused with 401 M_UNKNOWN_TOKEN.

    Spec: client-server-api/#using-access-tokens and #common-error-codes —
    M_UNKNOWN_TOKEN when the access token is not recognised.
    """
    body = {} if method == "POST" else None
    headers = {"Authorization": f"Bearer not-a-token-{secrets.token_hex(8)}"}
    _standard_error(hs.client().do(method, path, json=body, auth=False, headers=headers),
                    401, "M_UNKNOWN_TOKEN")


def test_logged_out_token_is_unknown(hs):
    """After logout the old access token is refused with 401 M_UNKNOWN_TOKEN.

    Spec: client-server-api/#post_matrixclientv3logout — the access token is invalidated;
    client-server-api/#common-error-codes — M_UNKNOWN_TOKEN for unrecognised tokens.
    """
    alice = hs.register()
    token = alice.access_token
    alice.logout()
    response = hs.client().do("GET", ["account", "whoami"], auth=False,
                              headers={"Authorization": f"Bearer {token}"})
    _standard_error(response, 401, "M_UNKNOWN_TOKEN")


# -- response format -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["success", "error"])
def test_json_answers_are_labelled_as_json(hs, kind):
    """JSON responses, successes and errors alike, carry Content-Type application/json.

    Spec: client-server-api/#api-standards — servers must include a Content-Type header
    of application/json for all JSON responses.
    """
    alice = hs.register()
    response = alice.do("GET", ["account", "whoami"], auth=(kind == "success"))
    assert response.status_code == (200 if kind == "success" else 401), response.text
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    assert media_type == "application/json", (
        f"Content-Type is {response.headers.get('content-type')!r}")


# -- CORS ------------------------------------------------------------------------------------

def _assert_cors(response) -> None:
    origin = response.headers.get("access-control-allow-origin")
    methods = _listed(response.headers.get("access-control-allow-methods"))
    headers = _listed(response.headers.get("access-control-allow-headers"))
    missing = ([m for m in CORS_METHODS if m.lower() not in methods]
               + [h for h in CORS_HEADERS if h.lower() not in headers])
    assert origin == "*" and not missing, (
        f"{response.request.method} {response.request.url.path} → {response.status_code}: "
        f"Access-Control-Allow-Origin={origin!r}, missing from the allowed methods/headers: "
        f"{missing}")


@pytest.mark.parametrize("prefix, path, method", [
    pytest.param(CLIENT, ["versions"], "GET", id="versions"),
    pytest.param(V3, ["account", "whoami"], "GET", id="whoami"),
    pytest.param(V3, ["createRoom"], "POST", id="createRoom"),
    pytest.param(V3, ["rooms", "!r:example.org", "send", "m.room.message", "t1"], "PUT",
                 id="room-send"),
])
def test_preflight_request_is_answered_with_cors_headers(hs, prefix, path, method):
    """An OPTIONS preflight succeeds without a token and carries the CORS headers.

    Spec: client-server-api/#web-browser-clients — servers MUST expect OPTIONS requests
    on every endpoint and should answer with the CORS headers: any origin, the methods
    GET, POST, PUT, DELETE, OPTIONS and the headers X-Requested-With, Content-Type,
    Authorization. A browser only accepts a preflight with a 2xx status.
    """
    request_headers = {"Origin": "https://client.example.org",
                       "Access-Control-Request-Method": method,
                       "Access-Control-Request-Headers": "authorization, content-type"}
    response = hs.client().do("OPTIONS", path, prefix=prefix, auth=False, headers=request_headers)
    assert 200 <= response.status_code < 300, (
        f"OPTIONS {response.request.url.path} answered {response.status_code}: {response.text}")
    _assert_cors(response)


@pytest.mark.parametrize("kind", ["success", "client-error", "unknown-endpoint"])
def test_ordinary_responses_carry_cors_headers(hs, kind):
    """Ordinary answers, successful or not, carry the CORS headers.

    Spec: client-server-api/#web-browser-clients — the server should supply the CORS
    headers on all requests.
    """
    alice = hs.register()
    headers = {"Origin": "https://client.example.org"}
    response = {
        "success": lambda: alice.do("GET", ["account", "whoami"], headers=headers),
        "client-error": lambda: alice.do("GET", ["account", "whoami"], auth=False,
                                         headers=headers),
        "unknown-endpoint": lambda: alice.do("GET", ["org.example.nothing"], headers=headers),
    }[kind]()
    _assert_cors(response)


def test_options_request_does_not_run_the_endpoint(hs):
    """OPTIONS on /logout, even with the user's token, does not log the user out.

    Spec: client-server-api/#web-browser-clients — the server MUST NOT perform any logic
    defined for an endpoint when approached with an OPTIONS request.
    """
    alice = hs.register()
    response = alice.do("OPTIONS", ["logout"])
    assert 200 <= response.status_code < 300, f"OPTIONS /logout answered {response.status_code}"
    assert alice.whoami()["user_id"] == alice.user_id


def test_options_request_does_not_store_anything(hs):
    """OPTIONS on an account data path with a body does not store the body.

    Spec: client-server-api/#web-browser-clients — the server MUST NOT perform any logic
    defined for an endpoint when approached with an OPTIONS request.
    """
    alice = hs.register()
    data_type = f"org.example.{secrets.token_hex(4)}"
    path = ["user", alice.user_id, "account_data", data_type]
    alice.do("OPTIONS", path, json={"stored": True})
    expect_error(alice.do("GET", path), 404, "M_NOT_FOUND")
    expect_ok(alice.do("GET", ["account", "whoami"]), "whoami after OPTIONS")
