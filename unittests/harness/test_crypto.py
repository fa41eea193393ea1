# SPDX-License-Identifier: Apache-2.0
"""The suite's signing and hashing code against the spec's worked examples.

Spec: appendices/#canonical-json (examples), appendices/#cryptographic-test-vectors,
server-server-api/#signing-events, rooms/v1 … v12 (redactions, event IDs, room IDs).
"""

from __future__ import annotations

import json

import pytest

from tests.harness.crypto import (
    ROOM_VERSIONS,
    SignatureError,
    SigningKey,
    canonical_json,
    compute_event_id,
    content_hash,
    decode_base64,
    encode_base64,
    redact,
    reference_hash,
    room_id_from_create_event,
    sign_event,
    sign_json,
    verify_event_signature,
    verify_signed_json,
)
from unittests.spec_vectors import MINIMAL_EVENT, REDACTABLE_EVENT

# appendices/#cryptographic-test-vectors: seed, server name and key ID.
SPEC_KEY = SigningKey.from_seed("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1", "1")
SPEC_SERVER = "domain"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("{}", "{}", id="empty-object"),
        pytest.param('{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}', id="no-spaces"),
        pytest.param('{"b": "2", "a": "1"}', '{"a":"1","b":"2"}', id="sorted-keys"),
        pytest.param(
            '{"auth": {"success": true, "mxid": "@john.doe:example.com", "profile": '
            '{"display_name": "John Doe", "three_pids": [{"medium": "email", "address": '
            '"john.doe@example.org"}, {"medium": "msisdn", "address": "123456789"}]}}}',
            '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
            '"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
            '{"address":"123456789","medium":"msisdn"}]},"success":true}}',
            id="nested-objects-sorted-arrays-kept",
        ),
        pytest.param('{"a": "日本語"}', '{"a":"日本語"}', id="utf8-not-escaped"),
        pytest.param('{"本": 2, "日": 1}', '{"日":1,"本":2}', id="keys-by-codepoint"),
        pytest.param('{"a": "\\u65E5"}', '{"a":"日"}', id="escape-decoded"),
        pytest.param('{"a": null}', '{"a":null}', id="null"),
        pytest.param('{"a": -0, "b": 1e10}', '{"a":0,"b":10000000000}', id="numbers"),
    ],
)
def test_canonical_json_matches_spec_examples(given, expected):
    """Canonical JSON of each appendix example is byte-for-byte the spec's answer."""
    assert canonical_json(json.loads(given)) == expected.encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.5, id="fraction"),
        pytest.param(2**53, id="above-safe-range"),
        pytest.param(-(2**53), id="below-safe-range"),
    ],
)
def test_canonical_json_refuses_numbers_outside_the_grammar(value):
    """Fractions and integers beyond ±(2**53 - 1) have no canonical encoding."""
    with pytest.raises(ValueError):
        canonical_json({"n": value})


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"),
     ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")],
)  # fmt: skip
def test_unpadded_base64_matches_spec_examples(raw, encoded):
    """Unpadded base64 drops the `=` padding and decodes back."""
    assert encode_base64(raw.encode()) == encoded
    assert decode_base64(encoded) == raw.encode()


def test_url_safe_base64_uses_minus_and_underscore():
    """The URL-safe alphabet swaps `+` and `/` for `-` and `_`; decoding takes both."""
    assert encode_base64(b"\xfb\xff", urlsafe=True) == "-_8"
    assert encode_base64(b"\xfb\xff") == "+/8"
    assert decode_base64("-_8") == decode_base64("+/8=") == b"\xfb\xff"


def test_signed_empty_object_matches_spec():
    """Signing `{}` gives the appendix's signature."""
    assert sign_json({}, SPEC_SERVER, SPEC_KEY) == {
        "signatures": {
            "domain": {
                "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76L"
                "Trr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
            }
        }
    }


def test_signed_object_with_data_matches_spec():
    """Signing `{"one": 1, "two": "Two"}` gives the appendix's signature."""
    assert sign_json({"one": 1, "two": "Two"}, SPEC_SERVER, SPEC_KEY) == {
        "one": 1,
        "signatures": {
            "domain": {
                "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoq"
                "E7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
            }
        },
        "two": "Two",
    }


def test_signing_ignores_unsigned_and_keeps_it():
    """`unsigned` is outside the signature but stays on the object; input is untouched."""
    original = {"one": 1, "two": "Two", "unsigned": {"age_ts": 5}}
    signed = sign_json(original, SPEC_SERVER, SPEC_KEY)
    assert signed["unsigned"] == {"age_ts": 5}
    assert signed["signatures"] == sign_json({"one": 1, "two": "Two"}, "domain", SPEC_KEY)[
        "signatures"
    ]
    assert "signatures" not in original


def test_verify_accepts_spec_signature_and_rejects_tampering():
    """A signed object verifies with the public key; any change to it fails."""
    keys = {"ed25519:1": SPEC_KEY.public_key_base64}
    signed = sign_json({"one": 1, "two": "Two"}, SPEC_SERVER, SPEC_KEY)
    verify_signed_json(signed, SPEC_SERVER, keys)
    verify_signed_json({**signed, "unsigned": {"x": 1}}, SPEC_SERVER, keys)
    with pytest.raises(SignatureError, match="bad signature"):
        verify_signed_json({**signed, "two": "Three"}, SPEC_SERVER, keys)


@pytest.mark.parametrize(
    ("server", "keys", "reason"),
    [
        pytest.param("other", {"ed25519:1": SPEC_KEY.public_key_base64},
                     "no signatures from other", id="other-server"),
        pytest.param("domain", {"ed25519:2": SPEC_KEY.public_key_base64},
                     "none of the known keys", id="unknown-key-id"),
    ],
)  # fmt: skip
def test_verify_says_why_a_signature_is_missing(server, keys, reason):
    """Checking fails when the named server or a known key has no signature."""
    signed = sign_json({}, SPEC_SERVER, SPEC_KEY)
    with pytest.raises(SignatureError, match=reason):
        verify_signed_json(signed, server, keys)




@pytest.mark.parametrize(
    ("event", "sha256", "signature"),
    [
        pytest.param(
            MINIMAL_EVENT,
            "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos",
            "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg",
            id="minimal-event",
        ),
        pytest.param(
            REDACTABLE_EVENT,
            "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g",
            "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA",
            id="event-with-redactable-content",
        ),
    ],
)
@pytest.mark.parametrize("version", [str(n) for n in range(1, 11)])
def test_signed_event_matches_spec(event, sha256, signature, version):
    """Hashing and signing the appendix's events gives its hash and signature.

    The examples predate room version 11, whose redaction drops `origin`; they hold for
    every version from 1 to 10.
    """
    signed = sign_event(event, SPEC_SERVER, SPEC_KEY, version)
    assert signed["hashes"] == {"sha256": sha256}
    assert signed["signatures"] == {"domain": {"ed25519:1": signature}}
    assert signed["unsigned"] == event["unsigned"]
    assert signed["content"] == event["content"]
    verify_event_signature(signed, "domain", {"ed25519:1": SPEC_KEY.public_key_base64}, version)


def test_event_signature_survives_redaction():
    """The signature covers the redacted event, so a redacted copy still verifies."""
    signed = sign_event(REDACTABLE_EVENT, SPEC_SERVER, SPEC_KEY, "10")
    keys = {"ed25519:1": SPEC_KEY.public_key_base64}
    verify_event_signature(redact(signed, "10"), SPEC_SERVER, keys, "10")
    assert content_hash(redact(signed, "10")) != content_hash(signed)


def _event(event_type, content, **extra):
    return {"type": event_type, "content": content, "sender": "@a:x", **extra}


@pytest.mark.parametrize(
    ("version", "event", "kept_content"),
    [
        pytest.param("1", _event("m.room.aliases", {"aliases": ["#a:x"]}),
                     {"aliases": ["#a:x"]}, id="v1-keeps-aliases"),
        pytest.param("6", _event("m.room.aliases", {"aliases": ["#a:x"]}),
                     {}, id="v6-drops-aliases"),
        pytest.param("7", _event("m.room.join_rules", {"join_rule": "restricted", "allow": []}),
                     {"join_rule": "restricted"}, id="v7-drops-allow"),
        pytest.param("8", _event("m.room.join_rules", {"join_rule": "restricted", "allow": []}),
                     {"join_rule": "restricted", "allow": []}, id="v8-keeps-allow"),
        pytest.param("8", _event("m.room.member", {"membership": "join",
                                                   "join_authorised_via_users_server": "@b:x"}),
                     {"membership": "join"}, id="v8-drops-authorised-via"),
        pytest.param("9", _event("m.room.member", {"membership": "join",
                                                   "join_authorised_via_users_server": "@b:x"}),
                     {"membership": "join", "join_authorised_via_users_server": "@b:x"},
                     id="v9-keeps-authorised-via"),
        pytest.param("10", _event("m.room.create", {"creator": "@a:x", "m.federate": True}),
                     {"creator": "@a:x"}, id="v10-create-keeps-creator-only"),
        pytest.param("11", _event("m.room.create", {"room_version": "11", "m.federate": True}),
                     {"room_version": "11", "m.federate": True}, id="v11-create-keeps-all"),
        pytest.param("10", _event("m.room.power_levels", {"invite": 0, "ban": 50, "x": 1}),
                     {"ban": 50}, id="v10-power-levels-drop-invite"),
        pytest.param("11", _event("m.room.power_levels", {"invite": 0, "ban": 50, "x": 1}),
                     {"invite": 0, "ban": 50}, id="v11-power-levels-keep-invite"),
        pytest.param("10", _event("m.room.redaction", {"redacts": "$e"}),
                     {}, id="v10-redaction-drops-redacts"),
        pytest.param("11", _event("m.room.redaction", {"redacts": "$e"}),
                     {"redacts": "$e"}, id="v11-redaction-keeps-redacts"),
        pytest.param("11", _event("m.room.member", {"membership": "invite",
                                                    "third_party_invite": {"display_name": "d",
                                                                           "signed": {"t": 1}}}),
                     {"membership": "invite", "third_party_invite": {"signed": {"t": 1}}},
                     id="v11-member-keeps-third-party-signed"),
        pytest.param("12", _event("m.room.message", {"body": "hi"}),
                     {}, id="message-content-emptied"),
    ],
)  # fmt: skip
def test_redaction_keeps_the_versions_content_keys(version, event, kept_content):
    """Each room version's redaction keeps exactly its listed content keys."""
    assert redact(event, version)["content"] == kept_content


@pytest.mark.parametrize(
    ("version", "kept"),
    [
        pytest.param("10", {"origin", "membership", "prev_state"}, id="v10-keeps"),
        pytest.param("11", set(), id="v11-drops"),
    ],
)
def test_redaction_of_top_level_keys(version, kept):
    """Room version 11 stops keeping `origin`, `membership` and `prev_state`."""
    event = _event("m.room.message", {}, origin="x", membership="join", prev_state=[],
                   depth=1, unsigned={"a": 1}, extra=True)  # fmt: skip
    assert set(redact(event, version)) == {"type", "content", "sender", "depth"} | kept


# The spec has no worked example of an event ID or a v12 room ID. These vectors were
# cross-checked once against Synapse 1.163.2's event-ID code and are kept so any drift
# shows; the events are arbitrary but well formed.
def _pdu(event_type, content, **extra):
    return {"type": event_type, "content": content, "room_id": "!r:x", "sender": "@a:x",
            "origin": "x", "origin_server_ts": 5, "depth": 4, "prev_events": ["$a"],
            "auth_events": ["$b"], "hashes": {"sha256": "abc"}, **extra}  # fmt: skip


MESSAGE = _pdu("m.room.message", {"body": "hi"}, origin_server_ts=1)
MEMBER = _pdu("m.room.member", {"membership": "join", "displayname": "A",
                                "join_authorised_via_users_server": "@b:x"},
              state_key="@a:x", membership="join")  # fmt: skip
POWER_LEVELS = _pdu("m.room.power_levels", {"ban": 50, "invite": 0, "users": {"@a:x": 100}},
                    state_key="")  # fmt: skip
CREATE_V12 = {
    "auth_events": [],
    "content": {"room_version": "12"},
    "depth": 1,
    "hashes": {"sha256": "placeholder"},
    "origin_server_ts": 1700000000000,
    "prev_events": [],
    "sender": "@alice:example.org",
    "state_key": "",
    "type": "m.room.create",
}


@pytest.mark.parametrize(
    ("version", "event", "event_id"),
    [
        pytest.param("3", MESSAGE, "$l5h/ZamYeT7uc09VqP7w8WR9WAxvj+TY1rcMCEJAxWI",
                     id="v3-standard-base64"),
        pytest.param("4", MESSAGE, "$l5h_ZamYeT7uc09VqP7w8WR9WAxvj-TY1rcMCEJAxWI",
                     id="v4-url-safe-base64"),
        pytest.param("9", MEMBER, "$X-k3o4NzhZzHBAQp7_OymaBYqWB-8zmWhDDCN8kbvPY",
                     id="v9-member"),
        pytest.param("10", POWER_LEVELS, "$Zd-lZonjR1_TCfqkVbh7_Aekka-QJ7-9dQCLI5bmSm0",
                     id="v10-power-levels"),
        pytest.param("11", POWER_LEVELS, "$LyOTVVUyfoNeAfiFWZ6M0HFfriTAI-XQJu-Zt4ypY0E",
                     id="v11-power-levels"),
        pytest.param("12", CREATE_V12, "$7jvDTv1I9vVv4J9spm8Ti1pFpzMT5Co7GEEn0aZOnKg",
                     id="v12-create"),
    ],
)  # fmt: skip
def test_event_id_is_the_reference_hash(version, event, event_id):
    """From v3 the event ID is `$` + the reference hash: standard base64 in v3, URL-safe after."""
    assert compute_event_id(event, version) == event_id
    assert reference_hash(event, version) == decode_base64(event_id[1:])


def test_versions_before_3_have_no_derived_event_id():
    """Room versions 1 and 2 carry their event IDs; none is computed."""
    with pytest.raises(ValueError):
        compute_event_id(MESSAGE, "2")


def test_event_id_ignores_signatures_unsigned_and_redactable_content():
    """The reference hash sees only the redacted event without signatures/unsigned."""
    changed = {**REDACTABLE_EVENT, "signatures": {"x": {}}, "unsigned": {"b": 2},
               "content": {"body": "other"}}  # fmt: skip
    assert compute_event_id(changed, "10") == compute_event_id(REDACTABLE_EVENT, "10")


def test_room_id_for_v12_is_create_event_id_with_bang():
    """In room version 12 the room ID is `!` + the create event's reference hash."""
    assert room_id_from_create_event(CREATE_V12, "12") == (
        "!7jvDTv1I9vVv4J9spm8Ti1pFpzMT5Co7GEEn0aZOnKg"
    )
    with pytest.raises(ValueError):
        room_id_from_create_event(CREATE_V12, "11")


def test_every_room_version_is_known():
    """Room versions 1 to 12 have flag records; unknown strings are refused."""
    assert sorted(ROOM_VERSIONS, key=int) == [str(n) for n in range(1, 13)]
    with pytest.raises(ValueError):
        redact({}, "13")


def test_generated_keys_sign_and_verify():
    """A fresh key's public half, as published, verifies what it signs."""
    key = SigningKey.generate()
    assert key.key_id.startswith("ed25519:a_")
    signed = sign_json({"x": 1}, "hs", key)
    verify_signed_json(signed, "hs", {key.key_id: key.public_key_base64})
