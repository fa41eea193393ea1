# SPDX-License-Identifier: Apache-2.0
"""Pinging the application service through the homeserver (v1.7).

The service asks the homeserver, with its as_token, to call its `POST
/_matrix/app/v1/ping`; the homeserver passes the transaction ID on and reports how long
the call took. Only the service itself may ask, and only about itself.

Spec: client-server-api/#post_matrixclientv1appserviceappserviceidping,
application-service-api/#pinging, #post_matrixappv1ping.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.assertions import expect_error, expect_ok

pytestmark = [pytest.mark.appservice, pytest.mark.spec("1.7")]


def ping_path(appservice_id: str) -> list[str]:
    return ["appservice", appservice_id, "ping"]


def test_ping_reaches_the_service_with_the_transaction_id(appservice):
    """The service's ping arrives at POST /_matrix/app/v1/ping carrying its transaction_id.

    Spec: application-service-api/#pinging — the homeserver calls the service's ping
    endpoint with the transaction_id it was given.
    """
    transaction_id = f"ping-{appservice.tag}-{secrets.token_hex(4)}"

    expect_ok(appservice.ping(transaction_id), "ping the application service")

    pings = appservice.pings(transaction_id)
    assert pings == [{"transaction_id": transaction_id}], pings


def test_ping_reports_the_duration(appservice):
    """A successful ping answers 200 with the call's duration_ms, an integer.

    Spec: client-server-api/#post_matrixclientv1appserviceappserviceidping — 200 with
    required duration_ms, the time the homeserver's call took.
    """
    answer = expect_ok(appservice.ping(f"ping-{appservice.tag}"), "ping the application service")

    assert isinstance(answer.get("duration_ms"), int) and answer["duration_ms"] >= 0, answer


def test_ping_without_a_transaction_id_succeeds(appservice):
    """A ping without a transaction_id is also passed on, and answered with duration_ms.

    The service's ping body is held to its schema, where transaction_id, when present,
    is a string.

    Spec: client-server-api/#post_matrixclientv1appserviceappserviceidping —
    transaction_id is optional; application-service-api/#post_matrixappv1ping.
    """
    answer = expect_ok(appservice.ping(), "ping the application service without an ID")

    assert isinstance(answer.get("duration_ms"), int), answer
    assert len(appservice.pings()) == 1, appservice.pings()


def test_ping_of_another_appservice_is_forbidden(appservice):
    """A service asking to ping a different appservice ID is refused with 403 M_FORBIDDEN.

    Spec: client-server-api/#post_matrixclientv1appserviceappserviceidping — the ID in
    the path must be that of the service whose as_token is used; otherwise 403 M_FORBIDDEN.
    """
    other = f"{appservice.id}-not-{appservice.tag}"

    response = appservice.as_client().do("POST", ping_path(other),
                                         json={"transaction_id": f"ping-{appservice.tag}"},
                                         prefix="/_matrix/client/v1")

    expect_error(response, 403, "M_FORBIDDEN")
    assert appservice.pings(f"ping-{appservice.tag}") == []


def test_ping_by_an_ordinary_user_is_forbidden(hs, appservice):
    """A user's access token cannot ping the service: 403 M_FORBIDDEN.

    Spec: client-server-api/#post_matrixclientv1appserviceappserviceidping — callers not
    identified as application services get 403 M_FORBIDDEN.
    """
    alice = hs.register()

    response = alice.do("POST", ping_path(appservice.id), json={},
                        prefix="/_matrix/client/v1")

    expect_error(response, 403, "M_FORBIDDEN")


@pytest.mark.parametrize("token, errcode", [
    pytest.param(None, "M_MISSING_TOKEN", id="no-token"),
    pytest.param("not-a-known-token", "M_UNKNOWN_TOKEN", id="unknown-token"),
])
def test_ping_without_valid_credentials_is_unauthorised(hs, appservice, token, errcode):
    """A ping with no access token, or one the server does not know, is refused with 401.

    Spec: client-server-api/#using-access-tokens — a missing token gives 401
    M_MISSING_TOKEN, an unrecognised one 401 M_UNKNOWN_TOKEN.
    """
    client = hs.client()
    headers = {"Authorization": f"Bearer {token}"} if token else None

    response = client.do("POST", ping_path(appservice.id), json={}, headers=headers,
                         auth=False, prefix="/_matrix/client/v1")

    expect_error(response, 401, errcode)
