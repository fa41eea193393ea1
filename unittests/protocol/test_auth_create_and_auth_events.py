# SPDX-License-Identifier: Apache-2.0
"""Auth rules 1-4: the create event, the auth events list, the room ID and m.federate."""
from __future__ import annotations

import pytest

from reference_server.protocol.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth,
    check_auth_events,
    needs_create_event,
)
from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS

from .roomkit import ALICE, ALL_VERSIONS, BOB, CREATOR, Room, versions


def _create(identifier: str, **changes: object) -> dict:
    room = Room(identifier)
    create = dict(room.create, **changes)
    return create


# --- Rule 1: the create event ---------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_well_formed_create_is_allowed(identifier: str) -> None:
    check_auth(_create(identifier), {}, KNOWN_ROOM_VERSIONS[identifier])


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_create_with_prev_events_is_rejected(identifier: str) -> None:
    """1.1 If it has any prev_events, reject."""
    with pytest.raises(AuthError):
        check_auth(_create(identifier, prev_events=["$x"]), {}, KNOWN_ROOM_VERSIONS[identifier])


@pytest.mark.parametrize("identifier", versions(unless="room_id_from_create_event"))
def test_create_room_id_domain_must_match_sender(identifier: str) -> None:
    """1.2 (v1-v11) If the room_id's domain does not match the sender's, reject."""
    with pytest.raises(AuthError):
        check_auth(_create(identifier, room_id="!room:elsewhere.test"), {}, KNOWN_ROOM_VERSIONS[identifier])


def test_v12_create_with_room_id_is_rejected() -> None:
    """1.2 (v12) If the event has a room_id, reject."""
    with pytest.raises(AuthError):
        check_auth(_create("12", room_id="!room:a.test"), {}, KNOWN_ROOM_VERSIONS["12"])


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize("room_version", ["13", "org.example.v", 5])
def test_create_with_unknown_room_version_is_rejected(identifier: str, room_version: object) -> None:
    """1.3 If content.room_version is present and not a recognised version, reject."""
    create = _create(identifier)
    create["content"] = dict(create["content"], room_version=room_version)
    with pytest.raises(AuthError):
        check_auth(create, {}, KNOWN_ROOM_VERSIONS[identifier])


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_create_creator_property(identifier: str) -> None:
    """1.4 (v1-v10) content.creator is required; from v11 it is not."""
    version = KNOWN_ROOM_VERSIONS[identifier]
    create = _create(identifier)
    create["content"] = {"room_version": identifier}
    if version.implicit_room_creator:
        check_auth(create, {}, version)
    else:
        with pytest.raises(AuthError):
            check_auth(create, {}, version)


@pytest.mark.parametrize(
    "additional",
    [
        pytest.param("@bob:b.test", id="not-a-list"),
        pytest.param([5], id="not-strings"),
        pytest.param(["bob"], id="not-user-ids"),
        pytest.param(["@" + "x" * 300 + ":b.test"], id="too-long"),
    ],
)
def test_v12_invalid_additional_creators_are_rejected(additional: object) -> None:
    """1.4 (v12) additional_creators must be an array of valid user IDs."""
    create = _create("12")
    create["content"] = dict(create["content"], additional_creators=additional)
    with pytest.raises(AuthError):
        check_auth(create, {}, KNOWN_ROOM_VERSIONS["12"])


def test_additional_creators_are_only_validated_from_v12() -> None:
    create = _create("11")
    create["content"] = dict(create["content"], additional_creators="junk")
    check_auth(create, {}, KNOWN_ROOM_VERSIONS["11"])
    create = _create("12")
    create["content"] = dict(create["content"], additional_creators=[ALICE, BOB])
    check_auth(create, {}, KNOWN_ROOM_VERSIONS["12"])


# --- Rule 2 (v12): the room ID is the create event ------------------------------------

def test_v12_event_in_a_room_not_named_after_its_create_event_is_rejected() -> None:
    room = Room("12")
    message = room.event("m.room.message", CREATOR, {}, room_id="!SomethingElse")
    with pytest.raises(AuthError):
        room.check(message)


def test_v12_checks_need_the_create_event() -> None:
    room = Room("12")
    assert needs_create_event(room.version)
    with pytest.raises(AuthError):
        check_auth(room.event("m.room.message", CREATOR, {}), room.state, room.version)


@pytest.mark.parametrize("identifier", versions(unless="room_id_from_create_event"))
def test_without_create_event_other_versions_reject(identifier: str) -> None:
    """3.4 (before v12) No m.room.create event in the state: reject."""
    room = Room(identifier)
    assert not needs_create_event(room.version)
    del room.state[("m.room.create", "")]
    with pytest.raises(AuthError):
        room.check(room.event("m.room.message", CREATOR, {}))


# --- Rule 3: the auth_events list ------------------------------------------------------

def _auth_list(room: Room, *keys: tuple[str, str]) -> list[dict]:
    return [room.state[key] for key in keys]


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_selected_auth_events_pass(identifier: str) -> None:
    room = Room(identifier)
    message = room.event("m.room.message", CREATOR, {})
    keys = auth_types_for_event("m.room.message", CREATOR, None, {}, room.version)
    check_auth_events(message, _auth_list(room, *keys), room.version)


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_duplicate_auth_events_are_rejected(identifier: str) -> None:
    """3.1 Duplicate (type, state_key) entries: reject."""
    room = Room(identifier)
    keys = auth_types_for_event("m.room.message", CREATOR, None, {}, room.version)
    listed = _auth_list(room, *keys)
    with pytest.raises(AuthError):
        check_auth_events(room.event("m.room.message", CREATOR, {}), listed + listed[-1:], room.version)


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_unselected_auth_events_are_rejected(identifier: str) -> None:
    """3.2 Entries auth events selection would not pick: reject (join rules for a message)."""
    room = Room(identifier)
    keys = auth_types_for_event("m.room.message", CREATOR, None, {}, room.version)
    listed = _auth_list(room, *keys, ("m.room.join_rules", ""))
    with pytest.raises(AuthError):
        check_auth_events(room.event("m.room.message", CREATOR, {}), listed, room.version)


def test_v12_create_event_in_auth_events_is_rejected() -> None:
    """3.2 (v12) m.room.create MUST NOT be selected."""
    room = Room("12")
    listed = _auth_list(room, ("m.room.create", ""), ("m.room.power_levels", ""))
    with pytest.raises(AuthError):
        check_auth_events(room.event("m.room.message", CREATOR, {}), listed, room.version)


@pytest.mark.parametrize("identifier", versions(unless="auth_events_exclude_create"))
def test_missing_create_in_auth_events_is_rejected(identifier: str) -> None:
    """3.4 No m.room.create among the entries: reject."""
    room = Room(identifier)
    listed = _auth_list(room, ("m.room.power_levels", ""), ("m.room.member", CREATOR))
    with pytest.raises(AuthError):
        check_auth_events(room.event("m.room.message", CREATOR, {}), listed, room.version)


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_auth_events_from_another_room_are_rejected(identifier: str) -> None:
    """3.5 (MSC4307) An auth event with another room_id: reject."""
    room = Room(identifier)
    foreign = dict(room.state[("m.room.power_levels", "")], room_id="!other:a.test")
    with pytest.raises(AuthError):
        check_auth_events(room.event("m.room.message", CREATOR, {}), [foreign], room.version)
    room.state[("m.room.power_levels", "")] = foreign
    with pytest.raises(AuthError):
        room.check(room.event("m.room.message", CREATOR, {}))


def test_create_event_has_no_auth_events() -> None:
    room = Room("10")
    check_auth_events(room.create, [], room.version)
    with pytest.raises(AuthError):
        check_auth_events(room.create, [room.create], room.version)


# --- Auth events selection --------------------------------------------------------------

SELECTION_CASES = [
    pytest.param("m.room.message", None, {}, [], id="message"),
    pytest.param("m.room.topic", "", {}, [], id="state"),
    pytest.param("m.room.member", BOB, {"membership": "join"},
                 [("m.room.member", BOB), ("m.room.join_rules", "")], id="join"),
    pytest.param("m.room.member", BOB, {"membership": "invite"},
                 [("m.room.member", BOB), ("m.room.join_rules", "")], id="invite"),
    pytest.param("m.room.member", BOB, {"membership": "knock"},
                 [("m.room.member", BOB), ("m.room.join_rules", "")], id="knock"),
    pytest.param("m.room.member", BOB, {"membership": "leave"}, [("m.room.member", BOB)], id="leave"),
    pytest.param("m.room.member", BOB, {"membership": "ban"}, [("m.room.member", BOB)], id="ban"),
    pytest.param(
        "m.room.member", BOB,
        {"membership": "invite", "third_party_invite": {"signed": {"token": "tok"}}},
        [("m.room.member", BOB), ("m.room.join_rules", ""), ("m.room.third_party_invite", "tok")],
        id="third-party-invite",
    ),
]


@pytest.mark.parametrize(("event_type", "state_key", "content", "extra"), SELECTION_CASES)
@pytest.mark.parametrize("identifier", ["1", "11", "12"])
def test_auth_events_selection(identifier: str, event_type, state_key, content, extra) -> None:
    """server-server-api/#auth-events-selection, with the create event except in v12."""
    version = KNOWN_ROOM_VERSIONS[identifier]
    expected = [] if version.auth_events_exclude_create else [("m.room.create", "")]
    expected += [("m.room.power_levels", ""), ("m.room.member", ALICE)] + extra
    assert auth_types_for_event(event_type, ALICE, state_key, content, version) == expected


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_selection_for_restricted_join_includes_the_authoriser(identifier: str) -> None:
    version = KNOWN_ROOM_VERSIONS[identifier]
    content = {"membership": "join", "join_authorised_via_users_server": CREATOR}
    keys = auth_types_for_event("m.room.member", ALICE, ALICE, content, version)
    assert (("m.room.member", CREATOR) in keys) == version.restricted_join_rule


def test_selection_for_create_is_empty() -> None:
    assert auth_types_for_event("m.room.create", CREATOR, "", {}, KNOWN_ROOM_VERSIONS["1"]) == []


def test_selection_has_no_duplicates_for_self_membership() -> None:
    keys = auth_types_for_event("m.room.member", ALICE, ALICE, {"membership": "join"}, KNOWN_ROOM_VERSIONS["10"])
    assert keys.count(("m.room.member", ALICE)) == 1


# --- Rule 4: m.federate ------------------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_non_federating_room_rejects_other_servers(identifier: str) -> None:
    """4. m.federate false: senders from other domains than the creator's are rejected."""
    room = Room(identifier, join_rule="public", create_content={"m.federate": False})
    with pytest.raises(AuthError):
        room.check(room.member(BOB, "join"))
    room.check(room.member(ALICE, "join"))
