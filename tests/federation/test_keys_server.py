# SPDX-License-Identifier: Apache-2.0
"""The target's signing keys: published by itself, and fetched for others as a notary.

Spec: server-server-api/#retrieving-server-keys, #publishing-keys,
#querying-keys-through-another-server.
"""
from __future__ import annotations

import re
import time

import pytest

from tests.harness.assertions import expect_ok
from tests.harness.crypto import SignatureError, decode_base64, verify_signed_json
from tests.harness.federation_peers import unreachable_server_name
from tests.harness.federation_routes import KEY_V2

KEY_ID = re.compile(r"^ed25519:[a-zA-Z0-9_]+$")
UNPADDED_BASE64 = re.compile(r"^[A-Za-z0-9+/]+$")


def now_ms() -> int:
    return int(time.time() * 1000)


def notary_query(federation, method: str, server_name: str) -> list[dict]:
    """Asks the target, as a notary, for all of `server_name`'s keys without a
    `minimum_valid_until_ts`; returns the answer's `server_keys`."""
    if method == "GET":
        response = federation.do("GET", ["query", server_name], prefix=KEY_V2, sign=False)
    else:
        response = federation.do("POST", ["query"], prefix=KEY_V2, sign=False,
                                 json={"server_keys": {server_name: {}}})
    return expect_ok(response, f"ask the notary for the keys of {server_name}")["server_keys"]


def document_for(server_keys: list[dict], server_name: str) -> dict:
    found = [doc for doc in server_keys if doc.get("server_name") == server_name]
    assert found, (f"the notary's answer holds no key document for {server_name}; it "
                   f"holds {[doc.get('server_name') for doc in server_keys]}")
    return found[0]


def verify_keys_of(document: dict) -> dict[str, str]:
    return {key_id: entry["key"] for key_id, entry in document["verify_keys"].items()}


def assert_signed_by(document: dict, signer: str, keys: dict[str, str]) -> None:
    try:
        verify_signed_json(document, signer, keys)
    except SignatureError as error:
        pytest.fail(f"the key document of {document.get('server_name')} is not validly "
                    f"signed by {signer}: {error}", pytrace=False)


# -- publishing keys -----------------------------------------------------------------------


def test_key_document_names_the_server(federation):
    """The published key document's `server_name` is the server's own name.

    Spec: server-server-api/#get_matrixkeyv2server — `server_name` is the homeserver's
    server name.
    """
    document = federation.get_server_keys()
    assert document["server_name"] == federation.destination, (
        f"the key document names {document['server_name']!r}; the server is "
        f"{federation.destination!r}")


def test_key_document_is_signed_by_its_own_verify_keys(federation):
    """The key document carries a valid signature made with a key it lists.

    Spec: server-server-api/#get_matrixkeyv2server — `signatures` are made with the
    `verify_keys`, following the JSON signing algorithm (appendices/#signing-json).
    """
    document = federation.get_server_keys()
    assert_signed_by(document, federation.destination, verify_keys_of(document))


def test_key_document_is_valid_into_the_future(federation):
    """The key document's `valid_until_ts` has not passed yet.

    Spec: server-server-api/#get_matrixkeyv2server — `valid_until_ts` says when the keys
    must be refreshed; keys used beyond it are invalid, so a current answer lies ahead
    of now.
    """
    before = now_ms()
    document = federation.get_server_keys()
    assert document["valid_until_ts"] > before, (
        f"valid_until_ts {document['valid_until_ts']} is not after the time of the request "
        f"({before})")


def test_verify_keys_are_ed25519_keys_in_unpadded_base64(federation):
    """Each verify key has an `ed25519:<version>` ID and a 32-byte key in unpadded base64.

    Spec: server-server-api/#get_matrixkeyv2server — key IDs are the algorithm and a
    version of `[a-zA-Z0-9_]` characters; `key` is unpadded base64
    (appendices/#unpadded-base64); ed25519 public keys are 32 bytes.
    """
    document = federation.get_server_keys()
    assert document["verify_keys"], "the key document lists no verify_keys"
    for key_id, entry in document["verify_keys"].items():
        assert KEY_ID.match(key_id), f"verify key ID {key_id!r} is not ed25519:[a-zA-Z0-9_]+"
        key = entry["key"]
        assert UNPADDED_BASE64.match(key), f"key {key!r} is not unpadded base64"
        assert len(decode_base64(key)) == 32, f"key {key!r} is not a 32-byte ed25519 key"


# -- the target as a notary ------------------------------------------------------------------

QUERY_METHODS = [pytest.param("GET", id="get-query-server"), pytest.param("POST", id="post-query")]


@pytest.mark.parametrize("method", QUERY_METHODS)
def test_notary_returns_its_own_keys(federation, method):
    """Asked for its own keys, the notary returns its key document, signed by itself.

    Spec: server-server-api/#post_matrixkeyv2query — the notary returns the queried
    server's keys signed by the notary; here both are the target.
    """
    document = document_for(notary_query(federation, method, federation.destination),
                            federation.destination)
    assert_signed_by(document, federation.destination, federation.target_keys())
    assert set(verify_keys_of(document)) & set(federation.target_keys()), (
        f"the notary's document lists {sorted(verify_keys_of(document))}; the server "
        f"publishes {sorted(federation.target_keys())}")


@pytest.mark.parametrize("method", QUERY_METHODS)
def test_notary_fetches_another_servers_keys_and_countersigns_them(federation, method):
    """Asked for a peer's keys, the notary fetches them and adds its own signature.

    Spec: server-server-api/#get_matrixkeyv2queryservername — the notary retrieves the
    keys from the queried server's `/_matrix/key/v2/server` and MUST sign them; the
    peer's own signature stays valid.
    """
    peer = federation.peer
    document = document_for(notary_query(federation, method, peer.server_name),
                            peer.server_name)
    assert verify_keys_of(document).get(peer.key.key_id) == peer.key.public_key_base64, (
        f"the notary's document for {peer.server_name} does not list its key "
        f"{peer.key.key_id}: {document['verify_keys']}")
    assert_signed_by(document, peer.server_name, {peer.key.key_id: peer.key.public_key_base64})
    assert_signed_by(document, federation.destination, federation.target_keys())


@pytest.mark.parametrize("method", QUERY_METHODS)
def test_notary_without_minimum_validity_returns_keys_valid_now(federation, method):
    """Without `minimum_valid_until_ts`, the notary returns keys valid at the current time.

    Spec: server-server-api/#post_matrixkeyv2query — when `minimum_valid_until_ts` is
    not supplied the notary MUST use the current time.
    """
    before = now_ms()
    peer = federation.peer
    document = document_for(notary_query(federation, method, peer.server_name),
                            peer.server_name)
    assert document["valid_until_ts"] >= before, (
        f"the notary returned keys valid until {document['valid_until_ts']}, before the "
        f"time of the request ({before})")


@pytest.mark.parametrize("method", QUERY_METHODS)
def test_notary_answers_an_empty_list_for_an_unreachable_server(federation, method):
    """For a server it cannot reach and has no cached keys of, the notary returns none.

    Spec: server-server-api/#get_matrixkeyv2queryservername — 200 with an empty
    `server_keys` array when the server could not be reached and no keys are cached.
    """
    unreachable = unreachable_server_name()
    assert notary_query(federation, method, unreachable) == [], (
        f"the notary returned keys for {unreachable}, where nothing listens")


def test_bulk_notary_query_without_servers_answers_an_empty_list(federation):
    """A bulk notary query that names no servers returns an empty `server_keys` array.

    Spec: server-server-api/#post_matrixkeyv2query — if no servers are given, the
    notary MUST return an empty `server_keys` array.
    """
    response = federation.do("POST", ["query"], prefix=KEY_V2, sign=False,
                             json={"server_keys": {}})
    assert expect_ok(response, "a bulk key query for no servers")["server_keys"] == []
