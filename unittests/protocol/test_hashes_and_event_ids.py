# SPDX-License-Identifier: Apache-2.0
"""Content hashes, reference hashes, event signing and event IDs.

The two event-signing vectors come from appendices/#event-signing; they predate room
versions and use the original (v1) redaction algorithm, which keeps `origin`.
"""
from __future__ import annotations

import re

import pytest

from reference_server.protocol.event_ids import (
    compute_event_id,
    create_event_id_for_room,
    mint_room_id,
    room_id_for_create_event,
)
from unittests.spec_vectors import MINIMAL_EVENT, REDACTABLE_EVENT
from reference_server.protocol.events import hash_and_sign_event
from reference_server.protocol.hashes import (
    add_content_hash,
    check_content_hash,
    compute_content_hash,
    reference_hash,
)
from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS
from reference_server.protocol.signing import (
    SigningKey,
    signing_key_from_seed,
    unpadded_base64_decode,
    unpadded_base64_encode,
    verify_json,
)
from reference_server.protocol.redaction import redact

V1 = KNOWN_ROOM_VERSIONS["1"]
V3 = KNOWN_ROOM_VERSIONS["3"]
V4 = KNOWN_ROOM_VERSIONS["4"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]


@pytest.fixture
def key() -> SigningKey:
    return signing_key_from_seed(
        unpadded_base64_decode("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"), "1"
    )




def test_minimal_event_signing_vector(key: SigningKey) -> None:
    """appendices/#event-signing: the minimally-sized event."""
    signed = hash_and_sign_event(MINIMAL_EVENT, V1, server_name="domain", key=key)
    assert signed == {
        "auth_events": [],
        "content": {},
        "depth": 3,
        "hashes": {"sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"},
        "origin": "domain",
        "origin_server_ts": 1000000,
        "prev_events": [],
        "room_id": "!x:domain",
        "sender": "@a:domain",
        "signatures": {
            "domain": {
                "ed25519:1": "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"
            }
        },
        "type": "X",
        "unsigned": {"age_ts": 1000000},
    }


def test_redactable_event_signing_vector(key: SigningKey) -> None:
    """appendices/#event-signing: the event with redactable content."""
    signed = hash_and_sign_event(REDACTABLE_EVENT, V1, server_name="domain", key=key)
    assert signed["hashes"] == {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"}
    assert signed["signatures"] == {
        "domain": {
            "ed25519:1": "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA"
        }
    }
    assert signed["content"] == REDACTABLE_EVENT["content"], "the full event keeps its content"


def test_signature_on_redacted_copy_still_verifies(key: SigningKey) -> None:
    """server-server-api: signature checks must pass whether we hold the full or redacted event."""
    signed = hash_and_sign_event(REDACTABLE_EVENT, V1, server_name="domain", key=key)
    verify_json(redact(signed, V1), server_name="domain", key_id="ed25519:1", verify_key=key.verify_key_bytes)
    assert check_content_hash(signed)
    assert not check_content_hash(redact(signed, V1))


def test_content_hash_ignores_unsigned_signatures_and_hashes() -> None:
    base = {"type": "X", "content": {"a": 1}}
    noisy = dict(base, unsigned={"age": 5}, signatures={"x": {}}, hashes={"sha256": "zzz"})
    assert compute_content_hash(base) == compute_content_hash(noisy)


def test_content_hash_covers_everything_else() -> None:
    assert compute_content_hash({"type": "X", "age_ts": 1}) != compute_content_hash({"type": "X"})


@pytest.mark.parametrize(
    "claimed",
    [pytest.param(None, id="missing"), pytest.param("AAAA", id="wrong"), pytest.param("!!", id="not-base64")],
)
def test_check_content_hash_fails(claimed: str | None) -> None:
    event = {"type": "X", "content": {}}
    if claimed is not None:
        event["hashes"] = {"sha256": claimed}
    assert not check_content_hash(event)


def test_add_content_hash_round_trips() -> None:
    event = add_content_hash({"type": "X", "content": {"body": "hi"}})
    assert check_content_hash(event)


def test_reference_hash_ignores_redactable_parts_and_signatures() -> None:
    """The reference hash is over the redacted event without signatures/unsigned."""
    event = {"type": "m.room.message", "room_id": "!r:d", "content": {"body": "x"}, "hashes": {"sha256": "h"}}
    variant = dict(event, content={"body": "y"}, signatures={"d": {"ed25519:1": "s"}}, unsigned={"age": 1})
    assert reference_hash(event, V4) == reference_hash(variant, V4)
    assert len(reference_hash(event, V4)) == 32


# An event whose reference hash has both '+'/'/' (or '-'/'_') in base64, found by search,
# so the two alphabets can be told apart.
def _event_with_special_chars() -> dict:
    for n in range(1000):
        event = {"type": "X", "room_id": "!r:d", "content": {}, "depth": n}
        text = unpadded_base64_encode(reference_hash(event, V3))
        if "+" in text or "/" in text:
            return event
    raise AssertionError("no suitable event")


def test_v3_event_ids_use_standard_base64() -> None:
    event = _event_with_special_chars()
    expected = "$" + unpadded_base64_encode(reference_hash(event, V3))
    assert compute_event_id(event, V3) == expected
    assert re.fullmatch(r"\$[A-Za-z0-9+/]{43}", expected)


@pytest.mark.parametrize("identifier", [str(n) for n in range(4, 13)])
def test_v4_onwards_event_ids_use_url_safe_base64(identifier: str) -> None:
    version = KNOWN_ROOM_VERSIONS[identifier]
    event = _event_with_special_chars()
    event_id = compute_event_id(event, version)
    assert event_id == "$" + unpadded_base64_encode(reference_hash(event, version), urlsafe=True)
    assert re.fullmatch(r"\$[A-Za-z0-9_-]{43}", event_id)


@pytest.mark.parametrize("identifier", ["1", "2"])
def test_v1_event_ids_are_minted_with_the_server_name(identifier: str) -> None:
    version = KNOWN_ROOM_VERSIONS[identifier]
    minted = compute_event_id({"type": "X"}, version, server_name="example.org")
    assert re.fullmatch(r"\$[A-Za-z0-9]+:example\.org", minted)
    assert compute_event_id({"type": "X", "event_id": "$abc:other"}, version) == "$abc:other"
    with pytest.raises(ValueError):
        compute_event_id({"type": "X"}, version)


def test_v12_room_id_is_the_create_event_hash() -> None:
    create = {"type": "m.room.create", "state_key": "", "sender": "@a:d", "content": {"room_version": "12"}}
    room_id = room_id_for_create_event(create, V12)
    assert room_id == "!" + compute_event_id(create, V12)[1:]
    assert create_event_id_for_room(room_id, V12) == compute_event_id(create, V12)


@pytest.mark.parametrize("identifier", [str(n) for n in range(1, 12)])
def test_room_ids_before_v12_are_minted(identifier: str) -> None:
    version = KNOWN_ROOM_VERSIONS[identifier]
    with pytest.raises(ValueError):
        room_id_for_create_event({"type": "m.room.create"}, version)
    assert create_event_id_for_room("!abc:d", version) is None
    assert re.fullmatch(r"![A-Za-z0-9]+:example\.org", mint_room_id("example.org"))
