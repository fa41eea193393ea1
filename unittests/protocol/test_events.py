# SPDX-License-Identifier: Apache-2.0
"""Building PDUs in each room version's event format."""
from __future__ import annotations

import re

import pytest

from reference_server.protocol.event_ids import compute_event_id, room_id_for_create_event
from reference_server.protocol.events import (
    auth_event_ids,
    build_pdu,
    event_edges,
    finish_pdu,
    is_state_event,
    prev_event_ids,
    redacts_of,
)
from reference_server.protocol.hashes import check_content_hash
from reference_server.protocol.redaction import redact
from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from reference_server.protocol.signing import SigningKey, generate_signing_key, verify_json

ALL = [str(n) for n in range(1, 13)]
KEY = generate_signing_key("a_test")


def _build(version: RoomVersion, **overrides: object) -> tuple[str, dict]:
    args: dict = dict(
        version=version, room_id="!room:example.org", sender="@alice:example.org",
        event_type="m.room.message", content={"body": "hi"}, prev_events=["$prev:example.org"],
        auth_events=["$auth:example.org"], depth=5, origin_server_ts=1234, origin="example.org",
        key=KEY,
    )
    args.update(overrides)
    return build_pdu(**args)


def _assert_signed(pdu: dict, version: RoomVersion, key: SigningKey = KEY) -> None:
    assert check_content_hash(pdu)
    verify_json(redact(pdu, version), server_name="example.org", key_id=key.key_id, verify_key=key.verify_key_bytes)


@pytest.mark.parametrize("identifier", ALL)
def test_built_pdus_are_hashed_and_signed(identifier: str) -> None:
    """The content hash covers the event and the signature covers its redacted form."""
    version = KNOWN_ROOM_VERSIONS[identifier]
    event_id, pdu = _build(version)
    _assert_signed(pdu, version)
    assert compute_event_id(pdu, version) == event_id
    assert "unsigned" not in pdu


@pytest.mark.parametrize("identifier", ["1", "2"])
def test_v1_format_carries_event_id_and_hash_pairs(identifier: str) -> None:
    version = KNOWN_ROOM_VERSIONS[identifier]
    event_id, pdu = _build(version, edge_hashes={"$prev:example.org": {"sha256": "abc"}})
    assert pdu["event_id"] == event_id
    assert re.fullmatch(r"\$[A-Za-z0-9]+:example\.org", event_id)
    assert pdu["prev_events"] == [["$prev:example.org", {"sha256": "abc"}]]
    assert pdu["auth_events"] == [["$auth:example.org", {}]]
    assert event_edges(pdu, version) == (["$prev:example.org"], ["$auth:example.org"])


@pytest.mark.parametrize("identifier", ALL[2:])
def test_v3_onwards_format_has_id_lists_and_no_event_id(identifier: str) -> None:
    version = KNOWN_ROOM_VERSIONS[identifier]
    _, pdu = _build(version)
    assert "event_id" not in pdu
    assert pdu["prev_events"] == ["$prev:example.org"]
    assert event_edges(pdu, version) == (["$prev:example.org"], ["$auth:example.org"])


@pytest.mark.parametrize("identifier", ALL[:10])
def test_redacts_is_top_level_before_v11(identifier: str) -> None:
    version = KNOWN_ROOM_VERSIONS[identifier]
    _, pdu = _build(version, event_type="m.room.redaction", content={}, redacts="$target")
    assert pdu["redacts"] == "$target" and "redacts" not in pdu["content"]
    assert redacts_of(pdu, version) == "$target"


@pytest.mark.parametrize("identifier", ALL[10:])
def test_redacts_is_in_content_from_v11(identifier: str) -> None:
    """rooms/v11: `redacts` moves under `content`; the PDU format has no top-level key."""
    version = KNOWN_ROOM_VERSIONS[identifier]
    _, pdu = _build(version, event_type="m.room.redaction", content={}, redacts="$target")
    assert pdu["content"]["redacts"] == "$target" and "redacts" not in pdu
    assert redacts_of(pdu, version) == "$target"


def test_redacts_of_other_event_types_is_none() -> None:
    assert redacts_of({"type": "m.room.message", "redacts": "$x"}, KNOWN_ROOM_VERSIONS["1"]) is None


def test_v12_create_event_has_no_room_id_and_defines_it() -> None:
    version = KNOWN_ROOM_VERSIONS["12"]
    event_id, pdu = _build(
        version, room_id=None, event_type="m.room.create", state_key="",
        content={"room_version": "12"}, prev_events=[], auth_events=[], depth=1,
    )
    assert "room_id" not in pdu
    assert room_id_for_create_event(pdu, version) == "!" + event_id[1:]
    _assert_signed(pdu, version)


def test_v12_events_never_list_the_create_event() -> None:
    version = KNOWN_ROOM_VERSIONS["12"]
    _, pdu = _build(version, room_id="!CreateHash", auth_events=["$CreateHash", "$pl"])
    assert pdu["auth_events"] == ["$pl"]


def test_room_id_is_required_for_other_events() -> None:
    with pytest.raises(ValueError):
        _build(KNOWN_ROOM_VERSIONS["11"], room_id=None, event_type="m.room.create", state_key="")


@pytest.mark.parametrize(("identifier", "cap"), [("5", 2**63 - 1), ("6", 2**53 - 1)])
def test_depth_is_capped(identifier: str, cap: int) -> None:
    _, pdu = _build(KNOWN_ROOM_VERSIONS[identifier], depth=2**64)
    assert pdu["depth"] == cap


def test_state_key_marks_state_events() -> None:
    version = KNOWN_ROOM_VERSIONS["10"]
    _, state = _build(version, event_type="m.room.topic", state_key="", content={"topic": "t"})
    _, message = _build(version)
    assert is_state_event(state) and state["state_key"] == ""
    assert not is_state_event(message)


def test_finish_pdu_keeps_other_servers_signatures() -> None:
    """A make_join template signed by the resident server keeps that signature."""
    version = KNOWN_ROOM_VERSIONS["10"]
    resident = generate_signing_key("r")
    template = {
        "type": "m.room.member", "room_id": "!r:res", "sender": "@joiner:example.org",
        "state_key": "@joiner:example.org", "content": {"membership": "join"}, "depth": 3,
        "origin_server_ts": 5, "prev_events": [], "auth_events": [],
    }
    _, once = finish_pdu(template, version, server_name="res", key=resident)
    _, twice = finish_pdu(once, version, server_name="example.org", key=KEY)
    assert set(twice["signatures"]) == {"res", "example.org"}
    _assert_signed(twice, version)


@pytest.mark.parametrize(
    ("edges", "ids"),
    [
        pytest.param(["$a", "$b"], ["$a", "$b"], id="id-list"),
        pytest.param([["$a", {}], ["$b", {"sha256": "x"}]], ["$a", "$b"], id="pairs"),
        pytest.param("junk", [], id="not-a-list"),
        pytest.param([5, [], ["$c"]], ["$c"], id="malformed-entries-skipped"),
    ],
)
def test_edge_readers(edges: object, ids: list[str]) -> None:
    assert prev_event_ids({"prev_events": edges}) == ids
    assert auth_event_ids({"auth_events": edges}) == ids


@pytest.mark.parametrize(
    ("identifier", "pdu", "expected"),
    [
        pytest.param("10", {"type": "m.room.message", "sender": "@a:one"}, {"one"}, id="sender"),
        pytest.param("1", {"type": "m.room.message", "sender": "@a:one", "event_id": "$x:two"}, {"one", "two"}, id="v1-event-id-server"),
        pytest.param(
            "10",
            {"type": "m.room.member", "sender": "@a:one", "state_key": "@a:one",
             "content": {"membership": "join", "join_authorised_via_users_server": "@r:res"}},
            {"one", "res"}, id="restricted-join",
        ),
        pytest.param(
            "7",
            {"type": "m.room.member", "sender": "@a:one", "state_key": "@a:one",
             "content": {"membership": "join", "join_authorised_via_users_server": "@r:res"}},
            {"one"}, id="authoriser-ignored-before-v8",
        ),
        pytest.param(
            "10",
            {"type": "m.room.member", "sender": "@a:one", "state_key": "@b:two",
             "content": {"membership": "invite", "third_party_invite": {}}},
            set(), id="third-party-invite",
        ),
    ],
)
def test_required_signers(identifier: str, pdu: dict, expected: set[str]) -> None:
    from reference_server.protocol.events import required_signers

    assert required_signers(pdu, KNOWN_ROOM_VERSIONS[identifier]) == expected
