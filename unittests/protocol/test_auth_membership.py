# SPDX-License-Identifier: Apache-2.0
"""Auth rule 5 (4 in v6-v11): m.room.member events, one branch per test."""
from __future__ import annotations

import pytest

from reference_server.protocol.auth_rules import AuthError
from reference_server.protocol.signing import generate_signing_key, sign_json

from .roomkit import ALICE, ALL_VERSIONS, BOB, CAROL, CREATOR, Room, versions

KNOCK = versions(where="knock_join_rule")
NO_KNOCK = versions(unless="knock_join_rule")
RESTRICTED = versions(where="restricted_join_rule")
NO_RESTRICTED = versions(unless="restricted_join_rule")


def allowed(room: Room, event: dict) -> None:
    room.check(event)


def rejected(room: Room, event: dict) -> None:
    with pytest.raises(AuthError):
        room.check(event)


# --- 5.1 --------------------------------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_member_event_needs_membership(identifier: str) -> None:
    room = Room(identifier, join_rule="public")
    rejected(room, room.event("m.room.member", ALICE, {}, state_key=ALICE))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_member_event_needs_state_key(identifier: str) -> None:
    room = Room(identifier, join_rule="public")
    rejected(room, room.event("m.room.member", ALICE, {"membership": "join"}))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_unknown_membership_is_rejected(identifier: str) -> None:
    room = Room(identifier, join_rule="public")
    rejected(room, room.member(ALICE, "dance"))


# --- 5.3 join ----------------------------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_creator_joins_right_after_create(identifier: str) -> None:
    """5.3.1 The only prev event is the create event and state_key is the creator."""
    room = Room(identifier, join_rule=None, with_power_levels=False)
    state = {("m.room.create", ""): room.create}
    join = room.member(CREATOR, "join", prev_events=[room.create_id])
    room.state = state
    allowed(room, join)
    # Someone else cannot use the same shortcut.
    rejected(room, room.member(ALICE, "join", prev_events=[room.create_id]))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_join_for_someone_else_is_rejected(identifier: str) -> None:
    """5.3.2 sender must match state_key."""
    room = Room(identifier, join_rule="public")
    rejected(room, room.member(ALICE, "join", sender=CREATOR))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_banned_user_cannot_join_public_room(identifier: str) -> None:
    """5.3.3 If the sender is banned, reject."""
    room = Room(identifier, join_rule="public")
    room.add(room.member(ALICE, "ban", sender=CREATOR))
    rejected(room, room.member(ALICE, "join"))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_invite_only_room(identifier: str) -> None:
    """5.3.4 join_rule invite: allowed once invited (or already joined)."""
    room = Room(identifier, join_rule="invite")
    rejected(room, room.member(ALICE, "join"))
    room.add(room.member(ALICE, "invite", sender=CREATOR))
    allowed(room, room.member(ALICE, "join"))
    room.add(room.member(ALICE, "join"))
    allowed(room, room.member(ALICE, "join", displayname="new name"))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_knock_join_rule_admits_invited_users_from_v7(identifier: str) -> None:
    """5.3.4 (v7+) join_rule knock behaves like invite; before v7 it is unknown."""
    room = Room(identifier, join_rule="knock")
    room.add(room.member(ALICE, "invite", sender=CREATOR))
    if identifier in KNOCK:
        allowed(room, room.member(ALICE, "join"))
    else:
        rejected(room, room.member(ALICE, "join"))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_public_room(identifier: str) -> None:
    """5.3.6 join_rule public: allow."""
    room = Room(identifier, join_rule="public")
    allowed(room, room.member(ALICE, "join"))


@pytest.mark.parametrize("join_rule", [None, "private", "bogus"])
def test_other_join_rules_reject(join_rule: str | None) -> None:
    """5.3.7 Otherwise, reject."""
    room = Room("10", join_rule=join_rule)
    rejected(room, room.member(ALICE, "join"))


def _restricted_join(room: Room, authoriser: str | None, *, signed: bool = True) -> dict:
    content = {}
    if authoriser is not None:
        content["join_authorised_via_users_server"] = authoriser
    join = room.member(ALICE, "join", **content)
    if signed and authoriser is not None:
        join["signatures"] = {authoriser.split(":", 1)[1]: {"ed25519:k": "sig"}}
    return join


def _restricted_rules(identifier: str) -> list[str]:
    rules = ["restricted"]
    if identifier in versions(where="knock_restricted_join_rule"):
        rules.append("knock_restricted")
    return rules


RESTRICTED_CASES = [(v, rule) for v in RESTRICTED for rule in _restricted_rules(v)]


@pytest.mark.parametrize(("identifier", "join_rule"), RESTRICTED_CASES)
def test_restricted_join_via_joined_inviter_is_allowed(identifier: str, join_rule: str) -> None:
    """5.3.5.3 A joined authoriser with invite power lets the user in."""
    room = Room(identifier, join_rule=join_rule)
    allowed(room, _restricted_join(room, CREATOR))


@pytest.mark.parametrize(("identifier", "join_rule"), RESTRICTED_CASES)
def test_restricted_join_when_already_invited(identifier: str, join_rule: str) -> None:
    """5.3.5.1 Invited users need no authoriser."""
    room = Room(identifier, join_rule=join_rule)
    room.add(room.member(ALICE, "invite", sender=CREATOR))
    allowed(room, _restricted_join(room, None))


@pytest.mark.parametrize(("identifier", "join_rule"), RESTRICTED_CASES)
def test_restricted_join_needs_an_authoriser(identifier: str, join_rule: str) -> None:
    """5.3.5.2 No authoriser: reject."""
    room = Room(identifier, join_rule=join_rule)
    rejected(room, _restricted_join(room, None))


@pytest.mark.parametrize(("identifier", "join_rule"), RESTRICTED_CASES)
def test_restricted_join_authoriser_must_be_joined(identifier: str, join_rule: str) -> None:
    """5.3.5.2 The authoriser must be a joined member."""
    room = Room(identifier, join_rule=join_rule, power_levels={"invite": 0})
    rejected(room, _restricted_join(room, CAROL))


@pytest.mark.parametrize(("identifier", "join_rule"), RESTRICTED_CASES)
def test_restricted_join_authoriser_must_be_able_to_invite(identifier: str, join_rule: str) -> None:
    """5.3.5.2 The authoriser needs the invite level."""
    room = Room(identifier, join_rule=join_rule, power_levels={"invite": 50})
    room.join(CAROL)
    rejected(room, _restricted_join(room, CAROL))


@pytest.mark.parametrize(("identifier", "join_rule"), RESTRICTED_CASES)
def test_restricted_join_must_be_signed_by_authorising_server(identifier: str, join_rule: str) -> None:
    """5.2 The event must be signed by the authoriser's server."""
    room = Room(identifier, join_rule=join_rule)
    rejected(room, _restricted_join(room, CREATOR, signed=False))


@pytest.mark.parametrize("identifier", NO_RESTRICTED)
def test_restricted_join_rule_unknown_before_v8(identifier: str) -> None:
    room = Room(identifier, join_rule="restricted")
    rejected(room, _restricted_join(room, CREATOR))


@pytest.mark.parametrize("identifier", ["8", "9"])
def test_knock_restricted_unknown_before_v10(identifier: str) -> None:
    room = Room(identifier, join_rule="knock_restricted")
    rejected(room, _restricted_join(room, CREATOR))


# --- 5.4 invite --------------------------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_joined_member_with_invite_level_can_invite(identifier: str) -> None:
    room = Room(identifier)
    allowed(room, room.member(BOB, "invite", sender=CREATOR))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_inviter_must_be_joined(identifier: str) -> None:
    """5.4.2"""
    room = Room(identifier)
    rejected(room, room.member(BOB, "invite", sender=ALICE))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize("target_membership", ["join", "ban"])
def test_cannot_invite_joined_or_banned(identifier: str, target_membership: str) -> None:
    """5.4.3"""
    room = Room(identifier)
    room.add(room.member(BOB, target_membership, sender=CREATOR))
    rejected(room, room.member(BOB, "invite", sender=CREATOR))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_inviter_needs_invite_level(identifier: str) -> None:
    """5.4.4/5.4.5"""
    room = Room(identifier, power_levels={"invite": 50})
    room.join(ALICE)
    rejected(room, room.member(BOB, "invite", sender=ALICE))


# --- 5.4.1 third-party invites -------------------------------------------------------------

IDENTITY_KEY = generate_signing_key("0")


def _tpi_room(identifier: str = "10", *, key_field: str = "public_key") -> Room:
    room = Room(identifier)
    content = {"display_name": "b...", "key_validity_url": "https://id.test/v", "public_key": "unused"}
    if key_field == "public_key":
        content["public_key"] = IDENTITY_KEY.verify_key_base64
    else:
        content["public_keys"] = [{"public_key": "AAAA"}, {"public_key": IDENTITY_KEY.verify_key_base64}]
    room.add(room.event("m.room.third_party_invite", CREATOR, content, state_key="tok"))
    return room


def _tpi_invite(room: Room, *, mxid: str = BOB, token: str = "tok", sender: str = CREATOR,
                signed: dict | None = None) -> dict:
    if signed is None:
        signed = sign_json({"mxid": mxid, "token": token}, server_name="id.test", key=IDENTITY_KEY)
    return room.member(BOB, "invite", sender=sender, third_party_invite={"display_name": "b", "signed": signed})


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize("key_field", ["public_key", "public_keys"])
def test_third_party_invite_with_valid_signature(identifier: str, key_field: str) -> None:
    """5.4.1.7 A signature matching the public key (or one of public_keys) allows."""
    room = _tpi_room(identifier, key_field=key_field)
    allowed(room, _tpi_invite(room))


def test_third_party_invite_does_not_need_inviter_membership() -> None:
    """The 3pid branch allows before the inviter's membership is looked at (5.4.2)."""
    room = _tpi_room()
    room.add(room.member(CREATOR, "leave"))
    allowed(room, _tpi_invite(room))


def test_third_party_invite_for_banned_target() -> None:
    """5.4.1.1"""
    room = _tpi_room()
    room.add(room.member(BOB, "ban", sender=CREATOR))
    rejected(room, _tpi_invite(room))


@pytest.mark.parametrize(
    "signed",
    [
        pytest.param("not-an-object", id="signed-not-object"),
        pytest.param({"token": "tok"}, id="no-mxid"),
        pytest.param({"mxid": BOB}, id="no-token"),
    ],
)
def test_third_party_invite_malformed_signed(signed: object) -> None:
    """5.4.1.2/5.4.1.3"""
    room = _tpi_room()
    rejected(room, _tpi_invite(room, signed=signed))  # type: ignore[arg-type]


def test_third_party_invite_without_signed() -> None:
    room = _tpi_room()
    rejected(room, room.member(BOB, "invite", sender=CREATOR, third_party_invite={"display_name": "b"}))


def test_third_party_invite_mxid_must_match_target() -> None:
    """5.4.1.4"""
    room = _tpi_room()
    rejected(room, _tpi_invite(room, mxid=CAROL))


def test_third_party_invite_needs_matching_token_event() -> None:
    """5.4.1.5"""
    room = _tpi_room()
    rejected(room, _tpi_invite(room, token="other"))


def test_third_party_invite_sender_must_match() -> None:
    """5.4.1.6"""
    room = _tpi_room()
    room.join(ALICE)
    rejected(room, _tpi_invite(room, sender=ALICE))


def test_third_party_invite_bad_signature() -> None:
    """5.4.1.8"""
    room = _tpi_room()
    other_key = generate_signing_key("0")
    signed = sign_json({"mxid": BOB, "token": "tok"}, server_name="id.test", key=other_key)
    rejected(room, _tpi_invite(room, signed=signed))


# --- 5.5 leave ---------------------------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize("current", ["join", "invite"])
def test_user_can_leave_or_reject_invite(identifier: str, current: str) -> None:
    """5.5.1"""
    room = Room(identifier)
    room.add(room.member(ALICE, current, sender=CREATOR if current == "invite" else ALICE))
    allowed(room, room.member(ALICE, "leave"))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_rescinding_a_knock(identifier: str) -> None:
    """5.5.1 (v7+) Leaving from knock is allowed."""
    room = Room(identifier, join_rule="knock")
    room.state[("m.room.member", ALICE)] = room.member(ALICE, "knock")
    if identifier in KNOCK:
        allowed(room, room.member(ALICE, "leave"))
    else:
        rejected(room, room.member(ALICE, "leave"))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize("current", [None, "leave", "ban"])
def test_cannot_leave_from_other_states(identifier: str, current: str | None) -> None:
    """5.5.1 Only from invite, join (or knock)."""
    room = Room(identifier)
    if current:
        room.add(room.member(ALICE, current, sender=CREATOR))
    rejected(room, room.member(ALICE, "leave"))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_kick_needs_joined_sender(identifier: str) -> None:
    """5.5.2"""
    room = Room(identifier, users={ALICE: 100})
    room.join(BOB)
    rejected(room, room.member(BOB, "leave", sender=ALICE))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_kick_with_kick_level_of_lower_user(identifier: str) -> None:
    """5.5.4"""
    room = Room(identifier)
    room.join(BOB)
    allowed(room, room.member(BOB, "leave", sender=CREATOR))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_kick_without_kick_level(identifier: str) -> None:
    """5.5.5"""
    room = Room(identifier, users={ALICE: 49})
    room.join(ALICE, BOB)
    rejected(room, room.member(BOB, "leave", sender=ALICE))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_cannot_kick_equal_level(identifier: str) -> None:
    """5.5.4 The target's level must be below the sender's."""
    room = Room(identifier, users={ALICE: 50, BOB: 50})
    room.join(ALICE, BOB)
    rejected(room, room.member(BOB, "leave", sender=ALICE))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_unban_needs_ban_level(identifier: str) -> None:
    """5.5.3"""
    room = Room(identifier, users={ALICE: 60}, power_levels={"kick": 50, "ban": 70})
    room.join(ALICE)
    room.add(room.member(BOB, "ban", sender=CREATOR))
    rejected(room, room.member(BOB, "leave", sender=ALICE))
    allowed(room, room.member(BOB, "leave", sender=CREATOR))


# --- 5.6 ban -----------------------------------------------------------------------------

@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_ban_by_privileged_member(identifier: str) -> None:
    room = Room(identifier)
    allowed(room, room.member(BOB, "ban", sender=CREATOR))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
def test_ban_needs_joined_sender(identifier: str) -> None:
    """5.6.1"""
    room = Room(identifier, users={ALICE: 100})
    rejected(room, room.member(BOB, "ban", sender=ALICE))


@pytest.mark.parametrize("identifier", ALL_VERSIONS)
@pytest.mark.parametrize(("alice", "bob"), [(49, 0), (50, 50), (50, 60)])
def test_ban_needs_level_and_seniority(identifier: str, alice: int, bob: int) -> None:
    """5.6.2/5.6.3"""
    room = Room(identifier, users={ALICE: alice, BOB: bob})
    room.join(ALICE)
    rejected(room, room.member(BOB, "ban", sender=ALICE))


# --- 5.7 knock ---------------------------------------------------------------------------

@pytest.mark.parametrize("identifier", KNOCK)
def test_knock_on_knock_room(identifier: str) -> None:
    room = Room(identifier, join_rule="knock")
    allowed(room, room.member(ALICE, "knock"))


@pytest.mark.parametrize("identifier", NO_KNOCK)
def test_knock_is_unknown_before_v7(identifier: str) -> None:
    room = Room(identifier, join_rule="knock")
    rejected(room, room.member(ALICE, "knock"))


@pytest.mark.parametrize("identifier", KNOCK)
def test_knock_restricted_allows_knocks_from_v10(identifier: str) -> None:
    """5.7.1 knock_restricted (v10+) also allows knocking."""
    room = Room(identifier, join_rule="knock_restricted")
    if identifier in versions(where="knock_restricted_join_rule"):
        allowed(room, room.member(ALICE, "knock"))
    else:
        rejected(room, room.member(ALICE, "knock"))


@pytest.mark.parametrize("identifier", KNOCK)
def test_knock_on_public_room_is_rejected(identifier: str) -> None:
    """5.7.1"""
    room = Room(identifier, join_rule="public")
    rejected(room, room.member(ALICE, "knock"))


@pytest.mark.parametrize("identifier", KNOCK)
def test_knock_for_someone_else_is_rejected(identifier: str) -> None:
    """5.7.2"""
    room = Room(identifier, join_rule="knock")
    rejected(room, room.member(ALICE, "knock", sender=CREATOR))


@pytest.mark.parametrize("identifier", KNOCK)
@pytest.mark.parametrize("current", ["ban", "invite", "join"])
def test_knock_from_ban_invite_or_join_is_rejected(identifier: str, current: str) -> None:
    """5.7.3/5.7.4"""
    room = Room(identifier, join_rule="knock")
    room.state[("m.room.member", ALICE)] = room.member(ALICE, current)
    rejected(room, room.member(ALICE, "knock"))
