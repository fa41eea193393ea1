# SPDX-License-Identifier: Apache-2.0
"""Auth rules 6-11 (sender membership, required levels, power level changes, redactions)
and the power level helpers the server shares with them."""
from __future__ import annotations

import math

import pytest

from reference_server.protocol.auth_rules import AuthError, power_level_of, required_power_level
from reference_server.protocol.power_levels import named_power_level, parse_power_level_value
from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS

from .roomkit import ALICE, ALL_VERSIONS, BOB, CAROL, CREATOR, Room, versions

INT_ONLY = versions(where="enforce_int_power_levels")
STRINGY = versions(unless="enforce_int_power_levels")
FLOATY = versions(unless="strict_canonical_json")


def allowed(room: Room, event: dict) -> None:
    room.check(event)


def rejected(room: Room, event: dict) -> None:
    with pytest.raises(AuthError):
        room.check(event)


def pl_event(room: Room, sender: str, content: dict) -> dict:
    return room.event("m.room.power_levels", sender, content, state_key="")


# --- Rules 6-9 ---------------------------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_non_member_cannot_send(identifier: str) -> None:
    """6. If the sender's membership is not join, reject."""
    room = Room(identifier)
    rejected(room, room.event("m.room.message", ALICE, {"body": "hi"}))
    room.join(ALICE)
    allowed(room, room.event("m.room.message", ALICE, {"body": "hi"}))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_third_party_invite_event_needs_invite_level(identifier: str) -> None:
    """7. m.room.third_party_invite: allow iff the sender has the invite level."""
    room = Room(identifier, users={ALICE: 10}, power_levels={"invite": 20, "state_default": 100})
    room.join(ALICE)
    rejected(room, room.event("m.room.third_party_invite", ALICE, {}, state_key="t"))
    room.add(pl_event(room, CREATOR, {"users": dict(room.state[("m.room.power_levels", "")]["content"]["users"], **{ALICE: 20}), "invite": 20, "state_default": 100}))
    allowed(room, room.event("m.room.third_party_invite", ALICE, {}, state_key="t"))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize(
    ("event_type", "state_key", "alice_level", "ok"),
    [
        pytest.param("m.room.message", None, 0, True, id="message-at-events-default"),
        pytest.param("m.room.topic", "", 49, False, id="state-below-state-default"),
        pytest.param("m.room.topic", "", 50, True, id="state-at-state-default"),
        pytest.param("m.room.name", "", 50, False, id="events-override-above"),
        pytest.param("m.room.encrypted", None, 0, False, id="events-override-message"),
    ],
)
def test_required_power_level(identifier: str, event_type: str, state_key: str | None, alice_level: int, ok: bool) -> None:
    """8. The event type's required power level must not exceed the sender's."""
    room = Room(identifier, users={ALICE: alice_level}, power_levels={"events": {"m.room.name": 75, "m.room.encrypted": 10}})
    room.join(ALICE)
    event = room.event(event_type, ALICE, {}, state_key=state_key)
    (allowed if ok else rejected)(room, event)


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_user_keyed_state_belongs_to_that_user(identifier: str) -> None:
    """9. state_key starting with @ must be the sender."""
    room = Room(identifier, users={ALICE: 100})
    room.join(ALICE)
    rejected(room, room.event("org.example.state", ALICE, {}, state_key=BOB))
    allowed(room, room.event("org.example.state", ALICE, {}, state_key=ALICE))


def test_without_power_levels_only_the_creator_has_power() -> None:
    room = Room("10", with_power_levels=False)
    room.join(ALICE)
    allowed(room, room.event("m.room.topic", CREATOR, {}, state_key=""))
    rejected(room, room.event("m.room.topic", ALICE, {}, state_key=""))
    allowed(room, room.event("m.room.message", ALICE, {}))


# --- Rule 10: power level events ---------------------------------------------------------

@pytest.mark.parametrize("identifier", INT_ONLY)
@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"ban": "50"}, id="string-named-level"),
        pytest.param({"kick": 50.0}, id="float-named-level"),
        pytest.param({"invite": True}, id="bool-named-level"),
        pytest.param({"events": {"m.room.name": "50"}}, id="string-in-events"),
        pytest.param({"events": []}, id="events-not-object"),
        pytest.param({"notifications": {"room": "50"}}, id="string-in-notifications"),
        pytest.param({"users": {ALICE: "50"}}, id="string-in-users"),
    ],
)
def test_v10_requires_integers(identifier: str, content: dict) -> None:
    """10.1-10.3 (v10+) Values must be integers."""
    room = Room(identifier)
    base = dict(room.state[("m.room.power_levels", "")]["content"])
    rejected(room, pl_event(room, CREATOR, {**base, **content, "users": {**base["users"], **content.get("users", {})}}))


@pytest.mark.parametrize("identifier", STRINGY)
def test_string_levels_are_accepted_before_v10(identifier: str) -> None:
    """v1-stringy-power-levels: integer strings (with whitespace, sign, zeros) are fine."""
    room = Room(identifier)
    users = dict(room.state[("m.room.power_levels", "")]["content"]["users"])
    allowed(room, pl_event(room, CREATOR, {"ban": " +050 ", "users": {**users, ALICE: "0010"}}))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize(
    "users",
    [
        pytest.param({"not-a-user": 10}, id="key-not-user-id"),
        pytest.param({ALICE: "ten"}, id="non-integer-string"),
        pytest.param({ALICE: None}, id="null"),
        pytest.param([ALICE], id="users-not-object"),
    ],
)
def test_users_must_map_user_ids_to_integers(identifier: str, users: object) -> None:
    """10.3 users must be an object of user IDs to integers."""
    room = Room(identifier)
    rejected(room, pl_event(room, CREATOR, {"users": users}))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_float_levels_only_before_v6(identifier: str) -> None:
    """v1-floaty-power-levels: v1-v5 accept floats (truncated); later versions do not."""
    room = Room(identifier)
    users = dict(room.state[("m.room.power_levels", "")]["content"]["users"])
    event = pl_event(room, CREATOR, {"users": {**users, BOB: 50.57}})
    (allowed if identifier in FLOATY else rejected)(room, event)


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_first_power_levels_event_is_allowed(identifier: str) -> None:
    """10.5 No previous power levels event: allow."""
    room = Room(identifier, with_power_levels=False)
    allowed(room, pl_event(room, CREATOR, {"users": {ALICE: 1000}, "ban": 1000}))


def _pl_room(identifier: str, **extra: object) -> Room:
    room = Room(identifier, users={ALICE: 50, BOB: 50, CAROL: 20}, **extra)
    room.join(ALICE, BOB)
    return room


def _changed(room: Room, **changes: object) -> dict:
    content = {k: (dict(v) if isinstance(v, dict) else v) for k, v in room.state[("m.room.power_levels", "")]["content"].items()}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(content.get(key), dict):
            content[key].update(value)
            content[key] = {k: v for k, v in content[key].items() if v is not None}
        elif value is None:
            content.pop(key, None)
        else:
            content[key] = value
    return content


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize(
    ("changes", "ok"),
    [
        pytest.param({"kick": 40}, True, id="lower-named-level-within-own"),
        pytest.param({"kick": 60}, False, id="raise-named-level-above-own"),
        pytest.param({"state_default": 50}, True, id="unchanged-named-level"),
        pytest.param({"events": {"m.room.topic": 50}}, True, id="add-event-level-at-own"),
        pytest.param({"events": {"m.room.topic": 51}}, False, id="add-event-level-above-own"),
        pytest.param({"events": {"m.room.name": 10}}, False, id="change-event-level-from-above-own"),
        pytest.param({"users": {CAROL: 50}}, True, id="promote-to-own-level"),
        pytest.param({"users": {CAROL: 51}}, False, id="promote-above-own"),
        pytest.param({"users": {CAROL: None}}, True, id="remove-lower-user"),
        pytest.param({"users": {BOB: 0}}, False, id="demote-equal-user"),
        pytest.param({"users": {ALICE: 10}}, True, id="demote-self"),
        pytest.param({"users": {ALICE: 60}}, False, id="promote-self"),
    ],
)
def test_power_level_changes(identifier: str, changes: dict, ok: bool) -> None:
    """10.6-10.10 What a sender at level 50 may change."""
    room = _pl_room(identifier, power_levels={"events": {"m.room.name": 60}, "kick": 50})
    event = pl_event(room, ALICE, _changed(room, **changes))
    (allowed if ok else rejected)(room, event)


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_removing_named_level_above_own_is_rejected(identifier: str) -> None:
    """10.6.1 The current value counts even when the new event removes it."""
    room = _pl_room(identifier, power_levels={"ban": 75, "state_default": 0})
    rejected(room, pl_event(room, ALICE, _changed(room, ban=None)))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_notifications_guarded_from_v6(identifier: str) -> None:
    """10.7/10.8 (v6+) notifications entries are guarded like events entries."""
    room = _pl_room(identifier, power_levels={"notifications": {"room": 100}})
    event = pl_event(room, ALICE, _changed(room, notifications={"room": 0}))
    limited = KNOWN_ROOM_VERSIONS[identifier].limit_notifications_power_levels
    (rejected if limited else allowed)(room, event)


@pytest.mark.parametrize("identifier", STRINGY)
def test_string_and_int_spellings_of_a_level_are_no_change(identifier: str) -> None:
    room = _pl_room(identifier, power_levels={"ban": 100})
    allowed(room, pl_event(room, ALICE, _changed(room, ban="100")))


# --- Rule 10 (v12) and creators ------------------------------------------------------------

def test_v12_creator_may_not_be_listed_in_users() -> None:
    """10.4 (v12) users must not contain the create event's sender."""
    room = Room("12")
    rejected(room, pl_event(room, CREATOR, {"users": {CREATOR: 100}}))


def test_v12_additional_creator_may_not_be_listed_in_users() -> None:
    room = Room("12", create_content={"additional_creators": [ALICE]})
    room.join(ALICE)
    rejected(room, pl_event(room, CREATOR, {"users": {ALICE: 100}}))
    allowed(room, pl_event(room, ALICE, {"users": {BOB: 100}}))


def test_creators_in_users_are_fine_before_v12() -> None:
    room = Room("11")
    allowed(room, pl_event(room, CREATOR, {"users": {CREATOR: 100}}))


def test_v12_additional_creator_outranks_everyone() -> None:
    """MSC4289: creators have infinite power; nobody, not even another creator, can kick them."""
    room = Room("12", users={BOB: 100}, create_content={"additional_creators": [ALICE]})
    room.join(ALICE, BOB)
    allowed(room, room.member(BOB, "ban", sender=ALICE))
    rejected(room, room.member(ALICE, "leave", sender=BOB))
    rejected(room, room.member(ALICE, "leave", sender=CREATOR))
    allowed(room, pl_event(room, ALICE, {"users": {BOB: 0}, "ban": 1000}))


def test_before_v12_additional_creators_mean_nothing() -> None:
    room = Room("11", create_content={"additional_creators": [ALICE]})
    room.join(ALICE)
    rejected(room, room.member(CREATOR, "ban", sender=ALICE))


# --- v1-v2 rule 11: redactions -------------------------------------------------------------

def _redaction(room: Room, sender: str, target: str) -> dict:
    return room.event("m.room.redaction", sender, {}, redacts=target)


@pytest.mark.parametrize("identifier", ["1", "2"])
def test_v1_redaction_of_own_server_event_is_allowed(identifier: str) -> None:
    room = Room(identifier)
    room.join(ALICE)
    allowed(room, _redaction(room, ALICE, "$other:a.test"))


@pytest.mark.parametrize("identifier", ["1", "2"])
def test_v1_redaction_of_foreign_event_needs_redact_level(identifier: str) -> None:
    room = Room(identifier)
    room.join(ALICE)
    rejected(room, _redaction(room, ALICE, "$other:b.test"))
    allowed(room, _redaction(room, CREATOR, "$other:b.test"))


@pytest.mark.parametrize("identifier", ALL_VERSIONS[2:])
def test_redactions_are_ordinary_events_from_v3(identifier: str) -> None:
    """rooms/v3: the redact level is not part of the auth rules any more."""
    room = Room(identifier)
    room.join(ALICE)
    allowed(room, room.event("m.room.redaction", ALICE, {"redacts": "$x"}, redacts="$x"))


# --- v1-v5 rule 4: aliases ----------------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_aliases_special_case(identifier: str) -> None:
    """v1-v5: any server may set its own aliases, member or not; v6+: ordinary state."""
    room = Room(identifier)
    event = room.event("m.room.aliases", BOB, {"aliases": ["#x:b.test"]}, state_key="b.test")
    if KNOWN_ROOM_VERSIONS[identifier].special_case_aliases_auth:
        allowed(room, event)
        rejected(room, room.event("m.room.aliases", BOB, {}, state_key="a.test"))
        rejected(room, room.event("m.room.aliases", BOB, {}))
    else:
        rejected(room, event)


# --- helpers ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("identifier", "value", "expected"),
    [
        ("9", 7, 7), ("9", "7", 7), ("9", " -07 ", -7), ("9", "+7", 7), ("9", "7.5", None),
        ("9", "1_000", None), ("9", True, None), ("9", None, None), ("5", 51146.98, 51146),
        ("5", -1.5, -1), ("6", 1.5, None), ("10", "7", None), ("10", 7, 7),
    ],
)
def test_parse_power_level_value(identifier: str, value: object, expected: int | None) -> None:
    assert parse_power_level_value(value, KNOWN_ROOM_VERSIONS[identifier]) == expected


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_power_level_of(identifier: str) -> None:
    room = Room(identifier)
    version = room.version
    content = {"users": {ALICE: 30}, "users_default": 5}
    assert power_level_of(ALICE, content, room.create, version) == 30
    assert power_level_of(BOB, content, room.create, version) == 5
    assert power_level_of(BOB, {}, room.create, version) == 0
    expected_creator = math.inf if version.creators_have_infinite_power else 100
    assert power_level_of(CREATOR, None, room.create, version) == expected_creator
    assert power_level_of(ALICE, None, room.create, version) == 0


def test_required_power_level_defaults() -> None:
    version = KNOWN_ROOM_VERSIONS["12"]
    assert required_power_level("m.room.topic", state_key="", power_levels_content=None, version=version) == 50
    assert required_power_level("m.room.message", state_key=None, power_levels_content=None, version=version) == 0
    content = {"events": {"m.room.topic": 10}, "state_default": 70, "events_default": 20}
    assert required_power_level("m.room.topic", state_key="", power_levels_content=content, version=version) == 10
    assert required_power_level("m.room.name", state_key="", power_levels_content=content, version=version) == 70
    assert required_power_level("m.room.message", state_key=None, power_levels_content=content, version=version) == 20


@pytest.mark.parametrize(("name", "default"), [("ban", 50), ("kick", 50), ("redact", 50), ("invite", 0)])
def test_named_level_defaults(name: str, default: int) -> None:
    """server-server-api/#definitions: invite defaults to 0; kick, ban, redact to 50."""
    assert named_power_level(name, None, KNOWN_ROOM_VERSIONS["10"]) == default
    assert named_power_level(name, {}, KNOWN_ROOM_VERSIONS["10"]) == default
