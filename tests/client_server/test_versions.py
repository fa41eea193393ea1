# SPDX-License-Identifier: Apache-2.0
"""Smoke tests: server discovery and the first steps of any client.

If these fail, nothing else in the suite can be trusted to say anything about the
target: they are the harness's own end-to-end check as much as the server's.
"""
from __future__ import annotations

from tests.harness.checks import expect_ok


def test_versions_answers_without_authentication(hs):
    """GET /versions needs no access token and lists the spec versions supported.

    Spec: client-server-api/#get_matrixclientversions — the endpoint does not require
    authentication and returns the supported versions (its schema is checked as well).
    """
    client = hs.client()
    body = expect_ok(client.do("GET", ["versions"], prefix="/_matrix/client", auth=False),
                     "ask for the supported versions")
    assert body["versions"], f"/versions lists no spec versions: {body}"


def test_well_known_client_is_valid_or_absent(hs):
    """/.well-known/matrix/client is optional; if served, it names the homeserver.

    Spec: client-server-api/#getwell-knownmatrixclient — 200 with m.homeserver.base_url,
    or 404 when no discovery information is available.
    """
    response = hs.client().do("GET", ["client"], prefix="/.well-known/matrix", auth=False)
    # Any other status has already failed the test: getWellknown documents only 200 and 404.
    if response.status_code == 200:
        base_url = response.json()["m.homeserver"]["base_url"]
        assert base_url.startswith(("http://", "https://")), (
            f"m.homeserver.base_url must be a URL, got {base_url!r}")


def test_registered_user_is_recognised_by_whoami(hs):
    """A newly registered user's access token identifies that user.

    Spec: client-server-api/#get_matrixclientv3accountwhoami — returns the user ID (and,
    since 1.1, the device ID) that owns the access token.
    """
    alice = hs.register()
    me = alice.whoami()
    assert me["user_id"] == alice.user_id, f"whoami says {me}, registration said {alice.user_id}"
    if "device_id" in me:
        assert me["device_id"] == alice.device_id, (
            f"whoami names device {me['device_id']}, registration made {alice.device_id}")


def test_versions_answers_authenticated_callers_too(hs):
    """GET /versions also answers a caller who sends an access token.

    Spec: client-server-api/#get_matrixclientversions — authentication is optional (since
    v1.10 the answer may depend on it); an authenticated client still gets the versions.
    """
    alice = hs.register()
    body = expect_ok(alice.do("GET", ["versions"], prefix="/_matrix/client"),
                     "ask for the supported versions with an access token")
    assert body["versions"], f"/versions lists no spec versions: {body}"


def test_well_known_client_is_served_with_cors_headers(hs):
    """A served /.well-known/matrix/client allows any origin to read it.

    Spec: client-server-api/#well-known-uris — servers hosting the file SHOULD offer the
    CORS headers of client-server-api/#web-browser-clients. A server that does not host
    it answers 404, and the header is then not needed.
    """
    response = hs.client().do("GET", ["client"], prefix="/.well-known/matrix", auth=False)
    origin = response.headers.get("access-control-allow-origin")
    assert response.status_code == 404 or origin == "*", (
        f"/.well-known/matrix/client answered {response.status_code} with "
        f"Access-Control-Allow-Origin={origin!r}")
