# SPDX-License-Identifier: Apache-2.0
"""PDU format and size checks (step 1 of server-server-api/#checks-performed-on-receipt-of-a-pdu)."""
from __future__ import annotations

import pytest

from reference_server.protocol.errors import EventFormatError
from reference_server.protocol.event_format import check_event_format
from reference_server.protocol.events import build_pdu
from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS
from reference_server.protocol.signing import generate_signing_key

KEY = generate_signing_key("k")
ALL = [str(n) for n in range(1, 13)]


def _pdu(identifier: str, **overrides: object) -> dict:
    args: dict = dict(
        version=KNOWN_ROOM_VERSIONS[identifier], room_id="!r:example.org", sender="@a:example.org",
        event_type="m.room.message", content={"body": "hi"}, prev_events=["$p"], auth_events=["$a"],
        depth=3, origin_server_ts=5, origin="example.org", key=KEY,
    )
    args.update(overrides)
    return build_pdu(**args)[1]


@pytest.mark.parametrize("identifier", ALL)
def test_built_pdus_are_well_formed(identifier: str) -> None:
    check_event_format(_pdu(identifier), KNOWN_ROOM_VERSIONS[identifier])


def test_v12_create_without_room_id_is_well_formed() -> None:
    pdu = _pdu("12", room_id=None, event_type="m.room.create", state_key="", content={}, prev_events=[], auth_events=[])
    check_event_format(pdu, KNOWN_ROOM_VERSIONS["12"])


@pytest.mark.parametrize("key", ["sender", "type", "content", "depth", "hashes", "signatures", "room_id", "prev_events", "auth_events", "origin_server_ts"])
def test_missing_required_key(key: str) -> None:
    pdu = _pdu("10")
    del pdu[key]
    with pytest.raises(EventFormatError):
        check_event_format(pdu, KNOWN_ROOM_VERSIONS["10"])


def test_v1_needs_event_id() -> None:
    pdu = _pdu("1")
    del pdu["event_id"]
    with pytest.raises(EventFormatError):
        check_event_format(pdu, KNOWN_ROOM_VERSIONS["1"])


@pytest.mark.parametrize(
    ("identifier", "field", "value"),
    [
        pytest.param("10", "prev_events", [["$p", {}]], id="pairs-in-v10"),
        pytest.param("1", "prev_events", ["$p"], id="ids-in-v1"),
        pytest.param("10", "prev_events", ["$p"] * 21, id="too-many-prev"),
        pytest.param("10", "auth_events", ["$a"] * 11, id="too-many-auth"),
        pytest.param("10", "depth", -1, id="negative-depth"),
        pytest.param("10", "depth", 2**53, id="depth-over-v6-limit"),
        pytest.param("10", "depth", "3", id="string-depth"),
        pytest.param("10", "content", [], id="content-not-object"),
        pytest.param("10", "type", "t" * 256, id="long-type"),
        pytest.param("10", "state_key", "s" * 256, id="long-state-key"),
        pytest.param("10", "sender", "@" + "s" * 255 + ":x", id="long-sender"),
        pytest.param("10", "hashes", {}, id="no-sha256"),
        pytest.param("10", "content", {"n": 1.5}, id="float-in-v10"),
        pytest.param("10", "content", {"n": 2**53}, id="big-int-in-v10"),
        pytest.param("10", "content", {"body": "x" * 66000}, id="over-64k"),
    ],
)
def test_malformed_pdus_are_refused(identifier: str, field: str, value: object) -> None:
    pdu = _pdu(identifier)
    pdu[field] = value
    with pytest.raises(EventFormatError):
        check_event_format(pdu, KNOWN_ROOM_VERSIONS[identifier])


@pytest.mark.parametrize("content", [{"n": 1.5}, {"n": 2**60}])
def test_v5_tolerates_non_canonical_numbers(content: dict) -> None:
    pdu = _pdu("5")
    pdu["content"] = content
    check_event_format(pdu, KNOWN_ROOM_VERSIONS["5"])
