# SPDX-License-Identifier: Apache-2.0
"""X-Matrix request signing and checking (server-server-api/#request-authentication)."""
from __future__ import annotations

import pytest

from reference_server.federation.request_auth import (
    AuthHeaderError, parse_authorization, sign_request, verify_request,
)
from reference_server.protocol.signing import SignatureError, generate_signing_key

KEY = generate_signing_key("test1")


def _signed(content=None, destination="dest.example"):
    return sign_request("PUT", "/_matrix/federation/v1/send/1", origin="origin.example",
                        destination=destination, content=content, key=KEY)


def test_signed_request_verifies() -> None:
    header = parse_authorization(_signed({"pdus": []}))
    assert (header.origin, header.destination, header.key_id) == (
        "origin.example", "dest.example", KEY.key_id)
    verify_request(header, method="PUT", uri="/_matrix/federation/v1/send/1",
                   destination="dest.example", content={"pdus": []},
                   verify_key=KEY.verify_key_bytes)


@pytest.mark.parametrize(
    ("change", "value"),
    [
        pytest.param("content", {"pdus": [1]}, id="body-changed"),
        pytest.param("uri", "/_matrix/federation/v1/send/2", id="uri-changed"),
        pytest.param("method", "POST", id="method-changed"),
        pytest.param("destination", "other.example", id="wrong-destination"),
    ],
)
def test_tampered_request_fails(change: str, value) -> None:
    header = parse_authorization(_signed({"pdus": []}))
    request = {"method": "PUT", "uri": "/_matrix/federation/v1/send/1",
               "destination": "dest.example", "content": {"pdus": []}}
    request[change] = value
    with pytest.raises(SignatureError):
        verify_request(header, verify_key=KEY.verify_key_bytes, **request)


def test_other_key_fails() -> None:
    header = parse_authorization(_signed())
    with pytest.raises(SignatureError):
        verify_request(header, method="PUT", uri="/_matrix/federation/v1/send/1",
                       destination="dest.example", content=None,
                       verify_key=generate_signing_key("x").verify_key_bytes)


def test_unquoted_parameters_in_any_order_parse() -> None:
    header = parse_authorization('X-Matrix key="ed25519:a",sig=abc,origin=o.example')
    assert (header.origin, header.key_id, header.signature, header.destination) == (
        "o.example", "ed25519:a", "abc", None)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="missing"),
        pytest.param("Bearer abc", id="wrong-scheme"),
        pytest.param('X-Matrix origin="o",key="ed25519:a"', id="no-signature"),
        pytest.param("X-Matrix ,,,", id="garbage"),
    ],
)
def test_malformed_headers_are_refused(value) -> None:
    with pytest.raises(AuthHeaderError):
        parse_authorization(value)
