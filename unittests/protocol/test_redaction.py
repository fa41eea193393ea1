# SPDX-License-Identifier: Apache-2.0
"""The redaction algorithm of each room version (rooms/v1, v6, v8, v9, v11 "Redactions")."""
from __future__ import annotations

import pytest

from reference_server.protocol.redaction import redact
from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS

ALL = [str(n) for n in range(1, 13)]
BEFORE_V11 = ALL[:10]
FROM_V11 = ALL[10:]


def _event(event_type: str, content: dict, **extra: object) -> dict:
    return {
        "event_id": "$e:d", "type": event_type, "room_id": "!r:d", "sender": "@u:d",
        "state_key": "", "content": content, "hashes": {"sha256": "h"},
        "signatures": {"d": {"ed25519:1": "s"}}, "depth": 4, "prev_events": ["$p"],
        "prev_state": [], "auth_events": ["$a"], "origin": "d", "origin_server_ts": 7,
        "membership": "join", "unsigned": {"age": 1}, "extra_top": True, **extra,
    }


@pytest.mark.parametrize("identifier", BEFORE_V11)
def test_top_level_keys_before_v11(identifier: str) -> None:
    redacted = redact(_event("m.room.message", {"body": "x"}), KNOWN_ROOM_VERSIONS[identifier])
    assert set(redacted) == {
        "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
        "depth", "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts",
        "membership",
    }
    assert redacted["content"] == {}


@pytest.mark.parametrize("identifier", FROM_V11)
def test_top_level_keys_from_v11(identifier: str) -> None:
    """v11 stops protecting `origin`, `membership` and `prev_state`."""
    redacted = redact(_event("m.room.message", {"body": "x"}), KNOWN_ROOM_VERSIONS[identifier])
    assert set(redacted) == {
        "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
        "depth", "prev_events", "auth_events", "origin_server_ts",
    }


def test_unsigned_is_removed() -> None:
    assert "unsigned" not in redact(_event("m.room.message", {}), KNOWN_ROOM_VERSIONS["12"])


MEMBER = {
    "membership": "join", "displayname": "U", "join_authorised_via_users_server": "@x:d",
    "third_party_invite": {"display_name": "e", "signed": {"mxid": "@u:d", "token": "t"}},
}
CREATE = {"creator": "@u:d", "room_version": "5", "m.federate": False}
JOIN_RULES = {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}], "other": 1}
POWER_LEVELS = {
    "ban": 50, "events": {}, "events_default": 0, "kick": 50, "redact": 50, "state_default": 50,
    "users": {}, "users_default": 0, "invite": 0, "notifications": {"room": 50},
}
PL_KEPT_V1 = {k: v for k, v in POWER_LEVELS.items() if k not in ("invite", "notifications")}

CONTENT_CASES = [
    # (event type, content, versions, expected content)
    ("m.room.member", MEMBER, ALL[:8], {"membership": "join"}),
    ("m.room.member", MEMBER, ["9", "10"], {"membership": "join", "join_authorised_via_users_server": "@x:d"}),
    ("m.room.member", MEMBER, FROM_V11, {
        "membership": "join", "join_authorised_via_users_server": "@x:d",
        "third_party_invite": {"signed": {"mxid": "@u:d", "token": "t"}},
    }),
    ("m.room.create", CREATE, BEFORE_V11, {"creator": "@u:d"}),
    ("m.room.create", CREATE, FROM_V11, CREATE),
    ("m.room.join_rules", JOIN_RULES, ALL[:7], {"join_rule": "restricted"}),
    ("m.room.join_rules", JOIN_RULES, ALL[7:], {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}]}),
    ("m.room.power_levels", POWER_LEVELS, BEFORE_V11, PL_KEPT_V1),
    ("m.room.power_levels", POWER_LEVELS, FROM_V11, dict(PL_KEPT_V1, invite=0)),
    ("m.room.aliases", {"aliases": ["#a:d"], "x": 1}, ALL[:5], {"aliases": ["#a:d"]}),
    ("m.room.aliases", {"aliases": ["#a:d"]}, ALL[5:], {}),
    ("m.room.history_visibility", {"history_visibility": "shared", "x": 1}, ALL, {"history_visibility": "shared"}),
    ("m.room.redaction", {"redacts": "$x", "reason": "spam"}, BEFORE_V11, {}),
    ("m.room.redaction", {"redacts": "$x", "reason": "spam"}, FROM_V11, {"redacts": "$x"}),
    ("m.room.topic", {"topic": "t"}, ALL, {}),
]


@pytest.mark.parametrize(
    ("event_type", "content", "identifier", "expected"),
    [
        pytest.param(t, c, v, e, id=f"{t}-v{v}")
        for t, c, versions, e in CONTENT_CASES
        for v in versions
    ],
)
def test_content_kept_per_version(event_type: str, content: dict, identifier: str, expected: dict) -> None:
    """Each event type keeps exactly the content keys its room version protects."""
    assert redact(_event(event_type, content), KNOWN_ROOM_VERSIONS[identifier])["content"] == expected


def test_third_party_invite_without_signed_is_dropped_in_v11() -> None:
    content = {"membership": "invite", "third_party_invite": {"display_name": "e"}}
    assert redact(_event("m.room.member", content), KNOWN_ROOM_VERSIONS["11"])["content"] == {"membership": "invite"}


def test_redaction_does_not_modify_its_input() -> None:
    event = _event("m.room.member", MEMBER)
    redact(event, KNOWN_ROOM_VERSIONS["11"])
    assert event["content"] == MEMBER and "unsigned" in event


def test_redaction_is_idempotent() -> None:
    version = KNOWN_ROOM_VERSIONS["11"]
    once = redact(_event("m.room.power_levels", POWER_LEVELS), version)
    assert redact(once, version) == once


def test_missing_or_malformed_content_becomes_empty() -> None:
    event = {"type": "m.room.member", "content": "not an object"}
    assert redact(event, KNOWN_ROOM_VERSIONS["1"]) == {"type": "m.room.member", "content": {}}
