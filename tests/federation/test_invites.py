# SPDX-License-Identifier: Apache-2.0
"""Invites across servers, both ways: PUT /_matrix/federation/v2/invite (and the
deprecated v1 form, for rooms of versions 1 and 2).

Inbound, a fake peer invites a local user: the target checks and countersigns the
invite, shows it to the user with the room's stripped state, and carries out the user's
answer against the peer (joining with make_join/send_join, rejecting with
make_leave/send_leave). Outbound, a local user invites a user of the peer: the target
asks the peer to countersign before the invite enters the room.
"""
from __future__ import annotations

import secrets
import time

import pytest

from tests.harness.assertions import expect_one_error, expect_status
from tests.harness.checks import expect_error, invited_to, joined_to, left
from tests.harness.crypto import SigningKey, compute_event_id, room_id_from_create_event, \
    sign_event, verify_event_signature
from tests.harness.federation_handlers import handle_invite, handle_keys, \
    handle_make_send_join, handle_make_send_leave, handle_transactions
from tests.harness.federation_routes import FEDERATION_V2

ROOM_VERSIONS = [pytest.param(v, id=f"v{v}") for v in ("10", "11", "12")]
STRIPPED_KEYS = {"type", "state_key", "sender", "content"}


def _room_state(room, *event_types: str) -> list[dict]:
    """The room's current state events of these types, as full PDUs (invite_room_state)."""
    state = room.state_map()
    return [room.pdu(state[(t, "")]) for t in event_types if (t, "") in state]


def _put_invite(client, room, event: dict, room_version: str | None = None):
    """PUT /v2/invite with `event` as is (for invites the target must refuse)."""
    version = room_version or room.version.identifier
    body = {"room_version": version, "event": event,
            "invite_room_state": _room_state(room, "m.room.create", "m.room.join_rules")}
    event_id = compute_event_id(event, room.version)
    return client.do("PUT", ["invite", room.room_id, event_id], json=body, prefix=FEDERATION_V2)


def _invited_by_peer(hs, fake_homeserver, *handlers):
    """A local user whom a fresh peer has invited to an invite-only room it hosts; the
    invite is in the room once the target has countersigned it."""
    peer = fake_homeserver(handle_keys(), *handlers)
    room = peer.create_room("12", join_rule="invite")
    room.send_state("m.room.name", {"name": "Lighthouse keepers"})
    alice = hs.register()
    signed = peer.client().invite(room.room_id, room.invite(alice.user_id), "12",
                                  _room_state(room, "m.room.create", "m.room.join_rules",
                                              "m.room.name"))
    room.add(signed)
    alice.sync_until(invited_to(room.room_id))
    return peer, room, alice


# -- inbound: the peer invites a local user ---------------------------------------------


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_invite_of_a_local_user_is_countersigned_and_returned(hs, fake_homeserver, version):
    """The target adds its signature to an invite for its user and changes nothing else.

    Spec: server-server-api/#put_matrixfederationv2inviteroomideventid — the invited
    server answers with the event carrying its signature, all other fields untouched.
    """
    peer = fake_homeserver(handle_keys())
    client = peer.client()
    room = peer.create_room(version)
    alice = hs.register()
    event = room.invite(alice.user_id)

    signed = client.invite(room.room_id, event, version, _room_state(room, "m.room.create"))

    verify_event_signature(signed, hs.server_name, client.target_keys(), version)
    assert signed["signatures"][peer.server_name] == event["signatures"][peer.server_name]
    unchanged = {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}
    assert unchanged == {k: v for k, v in event.items() if k not in ("signatures", "unsigned")}


def test_invited_user_sees_the_invite_with_the_stripped_state_the_peer_sent(
        hs, fake_homeserver):
    """The invite shows up in /sync under `invite`, with the room's state stripped down.

    Spec: client-server-api/#get_matrixclientv3sync — `invite_state` holds stripped state
    and the invite event; client-server-api/#stripped-state — stripped events have only
    `sender`, `type`, `state_key` and `content`, and the create event is required;
    server-server-api/#put_matrixfederationv2inviteroomideventid — `invite_room_state`
    becomes the stripped state the client sees.
    """
    peer, room, alice = _invited_by_peer(hs, fake_homeserver)

    events = alice.sync()["rooms"]["invite"][room.room_id]["invite_state"]["events"]

    by_type = {(e["type"], e["state_key"]): e for e in events}
    assert by_type[("m.room.name", "")]["content"] == {"name": "Lighthouse keepers"}
    assert ("m.room.create", "") in by_type
    member = by_type[("m.room.member", alice.user_id)]
    assert member["content"]["membership"] == "invite" and member["sender"] == room.creator
    extra = {e["type"]: sorted(set(e) - STRIPPED_KEYS) for e in events if set(e) - STRIPPED_KEYS}
    assert not extra, f"stripped state events with more than {sorted(STRIPPED_KEYS)}: {extra}"


def test_accepting_a_remote_invite_joins_through_the_inviting_server(hs, fake_homeserver):
    """Joining a room one was invited to over federation runs make_join/send_join there.

    Spec: server-server-api/#joining-rooms — the joining server may pick the origin
    server of the invite as the resident to join through.
    """
    peer, room, alice = _invited_by_peer(hs, fake_homeserver, handle_make_send_join(),
                                         handle_transactions())

    alice.join(room.room_id)

    assert room.membership(alice.user_id) == "join"
    alice.sync_until(joined_to(room.room_id))


def test_rejecting_a_remote_invite_runs_make_leave_and_send_leave(hs, fake_homeserver):
    """Leaving a room one was only invited to over federation sends the leave through
    the inviting server, which then records the invite as rejected.

    Spec: server-server-api/#leaving-rooms-rejecting-invites — a server not in the room
    rejects an invite with GET /make_leave and PUT /send_leave to a resident, which may
    be the inviting server; client-server-api/#post_matrixclientv3roomsroomidleave —
    leaving rejects an invite.
    """
    peer, room, alice = _invited_by_peer(hs, fake_homeserver, handle_make_send_leave())

    alice.leave(room.room_id)

    assert room.membership(alice.user_id) == "leave"
    alice.sync_until(left(room.room_id))


def _sender_of_another_server(peer, room, alice):
    return room.build_event("m.room.member", {"membership": "invite"}, state_key=alice,
                            sender="@mallory:elsewhere.example")


def _invitee_of_another_server(peer, room, alice):
    return room.invite("@bob:elsewhere.example")


def _not_an_invite(peer, room, alice):
    return room.build_event("m.room.member", {"membership": "join"}, state_key=alice)


def _not_a_member_event(peer, room, alice):
    return room.build_event("m.room.topic", {"topic": "invite?"}, state_key=alice)


def _forged_signature(peer, room, alice):
    forger = SigningKey(peer.key.key_id, SigningKey.generate().nacl_key)
    unsigned = {k: v for k, v in room.invite(alice).items() if k != "signatures"}
    return sign_event(unsigned, peer.server_name, forger, room.version)


@pytest.mark.parametrize("build", [
    pytest.param(_forged_signature, id="signature-does-not-verify"),
    pytest.param(_not_a_member_event, id="type-not-m.room.member"),
    pytest.param(_not_an_invite, id="membership-not-invite"),
    pytest.param(_sender_of_another_server, id="sender-not-of-the-origin"),
    pytest.param(_invitee_of_another_server, id="invitee-not-of-this-server"),
])
def test_an_invite_failing_the_required_checks_is_refused(hs, fake_homeserver, build):
    """An invite the invited server must not sign is refused and not shown to anyone.

    Spec: server-server-api/#put_matrixfederationv2inviteroomideventid — servers MUST
    check the signature, the type, the membership, that the sender belongs to the
    calling server and that the invitee belongs to the receiving server. No error code
    is mandated (M_INVALID_PARAM is recommended), so a 400 or the endpoint's 403 is
    accepted.
    """
    peer = fake_homeserver(handle_keys())
    room = peer.create_room("12")
    alice = hs.register()

    response = _put_invite(peer.client(), room, build(peer, room, alice.user_id))

    assert response.status_code in (400, 403), response.text
    assert room.room_id not in alice.sync().get("rooms", {}).get("invite", {})


def _state_without_create(peer, room):
    return _room_state(room, "m.room.join_rules")


def _state_of_another_room(peer, room):
    return _room_state(peer.create_room("12"), "m.room.create", "m.room.join_rules")


def _state_badly_signed(peer, room):
    create, join_rules = _room_state(room, "m.room.create", "m.room.join_rules")
    forger = SigningKey(peer.key.key_id, SigningKey.generate().nacl_key)
    unsigned = {k: v for k, v in join_rules.items() if k != "signatures"}
    return [create, sign_event(unsigned, peer.server_name, forger, room.version)]


def _state_stripped(peer, room):
    return [{k: e[k] for k in STRIPPED_KEYS}
            for e in _room_state(room, "m.room.create", "m.room.join_rules")]


@pytest.mark.parametrize("invite_room_state", [
    pytest.param(_state_without_create, id="create-event-missing"),
    pytest.param(_state_stripped, id="entries-not-in-the-room-versions-format"),
    pytest.param(_state_badly_signed, id="entry-signature-does-not-verify"),
    pytest.param(_state_of_another_room, id="entries-of-another-room"),
])
def test_a_v12_invite_with_unacceptable_invite_room_state_is_refused(
        hs, fake_homeserver, invite_room_state):
    """In a room of version 12 an invite whose room state does not hold up is refused.

    Spec: server-server-api/#put_matrixfederationv2inviteroomideventid — the invited
    server SHOULD check `invite_room_state` in room versions after 11 and refuse an
    invite when the create event is missing, an entry is not in the room version's
    format, an entry's signature does not verify, or an entry is of another room,
    SHOULD answering M_INVALID_PARAM (the spec also names 400 M_MISSING_PARAM).
    """
    peer = fake_homeserver(handle_keys())
    room = peer.create_room("12")
    alice = hs.register()
    event = room.invite(alice.user_id)
    body = {"room_version": "12", "event": event,
            "invite_room_state": invite_room_state(peer, room)}

    response = peer.client().do("PUT", ["invite", room.room_id, room.event_id(event)],
                                json=body, prefix=FEDERATION_V2)

    expect_one_error(response, (400, "M_INVALID_PARAM"), (400, "M_MISSING_PARAM"))
    assert room.room_id not in alice.sync().get("rooms", {}).get("invite", {})


def test_invite_to_a_room_version_the_target_does_not_support_is_refused(
        hs, fake_homeserver):
    """An invite to a room of an unknown version is refused with M_INCOMPATIBLE_ROOM_VERSION.

    Spec: server-server-api/#put_matrixfederationv2inviteroomideventid — 400
    M_INCOMPATIBLE_ROOM_VERSION when the room's version is not supported by the
    receiving server, naming it in `room_version`.
    """
    peer = fake_homeserver(handle_keys())
    room = peer.create_room("12")
    alice = hs.register()

    response = _put_invite(peer.client(), room, room.invite(alice.user_id),
                           room_version="org.example.unknown")

    body = expect_error(response, 400, "M_INCOMPATIBLE_ROOM_VERSION")
    assert body.get("room_version") == "org.example.unknown"


# -- outbound: a local user invites a user of the peer ------------------------------------


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_inviting_a_remote_user_has_their_server_countersign_first(
        hs, fake_homeserver, version):
    """Inviting a user of another server sends the signed invite there; once countersigned
    it is in the room's state.

    Spec: server-server-api/#inviting-to-a-room — when the invitee is on another server,
    the inviting server must ask that server to sign and verify the event (PUT
    /v2/invite), then send the doubly signed event to the room.
    """
    invites = []
    peer = fake_homeserver(handle_keys(), handle_invite(on_invite=invites.append),
                           handle_transactions())
    alice = hs.register()
    room_id = alice.create_room(room_version=version)
    bob = peer.user_id("bob")

    alice.invite(room_id, bob)

    (invite,) = invites
    event = invite["event"]
    assert invite["room_version"] == version
    assert (event["sender"], event["state_key"], event["content"]["membership"]) == \
        (alice.user_id, bob, "invite")
    assert alice.get_state(room_id, "m.room.member", bob)["membership"] == "invite"


def test_invite_carries_the_rooms_create_event_in_the_room_versions_format(
        hs, fake_homeserver):
    """`invite_room_state` holds the room's create event as a full, signed event.

    Spec: server-server-api/#put_matrixfederationv2inviteroomideventid —
    `invite_room_state` MUST contain the room's `m.room.create` event, and every entry
    MUST be formatted as the room version says (full PDUs, not stripped state).
    """
    invites = []
    peer = fake_homeserver(handle_keys(), handle_invite(on_invite=invites.append),
                           handle_transactions())
    client = peer.client()
    alice = hs.register()
    room_id = alice.create_room(room_version="12", name="Tide tables")

    alice.invite(room_id, peer.user_id("bob"))

    state = {e["type"]: e for e in invites[0].get("invite_room_state") or []}
    assert "m.room.create" in state, f"invite_room_state has {sorted(state)}"
    create = state["m.room.create"]
    assert room_id_from_create_event(create, "12") == room_id
    verify_event_signature(create, hs.server_name, client.target_keys(), "12")


def test_invitees_server_declining_gives_the_client_403(hs, fake_homeserver):
    """When the invitee's server refuses to countersign (403), the invite fails with 403.

    Spec: server-server-api/#put_matrixfederationv2inviteroomideventid — 403 when the
    server does not permit the invite; client-server-api/#post_matrixclientv3roomsroomidinvite
    — 403 when the invite is not allowed. Without the countersignature there is no
    invite to add to the room.
    """
    peer = fake_homeserver(handle_keys(), handle_invite(accept=False), handle_transactions())
    alice = hs.register()
    room_id = alice.create_room()
    bob = peer.user_id("bob")

    response = alice.do("POST", ["rooms", room_id, "invite"], json={"user_id": bob})

    expect_error(response, 403, "M_FORBIDDEN")
    expect_one_error(alice.do("GET", ["rooms", room_id, "state", "m.room.member", bob]),
                     (404, "M_NOT_FOUND"))


def test_invitees_server_lacking_the_room_version_gives_the_client_400(hs, fake_homeserver):
    """When the invitee's server does not support the room's version, the client gets 400
    M_UNSUPPORTED_ROOM_VERSION.

    Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — 400
    M_UNSUPPORTED_ROOM_VERSION when the invitee's homeserver does not support the room
    version; server-server-api/#put_matrixfederationv2inviteroomideventid — the error
    should be passed on to the client.
    """
    peer = fake_homeserver(handle_keys(), handle_invite(versions=["10", "11"]),
                           handle_transactions())
    alice = hs.register()
    room_id = alice.create_room(room_version="12")

    response = alice.do("POST", ["rooms", room_id, "invite"], json={"user_id": peer.user_id("bob")})

    expect_error(response, 400, "M_UNSUPPORTED_ROOM_VERSION")


# -- inbound, v1: the deprecated form for rooms of versions 1 and 2 --------------------


def _v1_invite(peer, invitee: str) -> tuple[str, dict]:
    """A room-version-1 invite by the peer's alice (v1 events carry their own ID), with
    the room's name as stripped state in `unsigned`; returns the room ID and event."""
    room_id = f"!{secrets.token_urlsafe(9)}:{peer.server_name}"
    sender = peer.user_id("alice")
    event = {
        "event_id": f"${secrets.token_urlsafe(9)}:{peer.server_name}", "room_id": room_id,
        "type": "m.room.member", "sender": sender, "state_key": invitee,
        "content": {"membership": "invite"}, "origin": peer.server_name,
        "origin_server_ts": int(time.time() * 1000), "depth": 4,
        "prev_events": [], "auth_events": [],
        "unsigned": {"invite_room_state": [{"type": "m.room.name", "state_key": "",
                                            "sender": sender,
                                            "content": {"name": "Old harbour"}}]},
    }
    return room_id, sign_event(event, peer.server_name, peer.key, "1")


def _put_invite_v1(client, room_id: str, event: dict):
    return client.do("PUT", ["invite", room_id, event["event_id"]], json=event)


def test_a_v1_invite_is_countersigned_and_answered_as_a_two_item_array(hs, fake_homeserver):
    """The v1 invite endpoint answers `[200, {"event": ...}]` with the target's signature
    added, and the invitee sees the invite.

    Spec: server-server-api/#put_matrixfederationv1inviteroomideventid — the body is
    the invite event itself; the invited server signs it and answers with the event
    in a two-item array whose first item is 200; room versions 1 and 2 are assumed.
    """
    peer = fake_homeserver(handle_keys())
    client = peer.client()
    alice = hs.register()
    room_id, event = _v1_invite(peer, alice.user_id)

    answer = expect_status(_put_invite_v1(client, room_id, event), 200)

    assert answer[0] == 200, answer
    signed = answer[1]["event"]
    verify_event_signature(signed, hs.server_name, client.target_keys(), "1")
    assert signed["signatures"][peer.server_name] == event["signatures"][peer.server_name]
    alice.sync_until(invited_to(room_id))


def test_a_v1_invite_for_a_user_of_another_server_is_refused(hs, fake_homeserver):
    """A v1 invite whose invitee is not a user of the target is refused.

    Spec: server-server-api/#put_matrixfederationv1inviteroomideventid — the invited
    server must check that the invitee is one of its users (M_INVALID_PARAM is
    recommended; a 400 or the endpoint's 403 is accepted).
    """
    peer = fake_homeserver(handle_keys())
    room_id, event = _v1_invite(peer, "@bob:elsewhere.example")

    response = _put_invite_v1(peer.client(), room_id, event)

    assert response.status_code in (400, 403), response.text

