# SPDX-License-Identifier: Apache-2.0
"""Joining a room the target is resident in: make_join and send_join from a peer.

A local user creates the room; a fake peer runs the remote join handshake for one of
its users against the target, then the two exchange the room's events.

Spec: server-server-api/#joining-rooms.
"""
from __future__ import annotations

import time

import pytest

from tests.harness.assertions import expect_error, expect_one_error
from tests.harness.checks import state_has
from tests.harness.crypto import SignatureError, compute_event_id, content_hash, \
    encode_base64, sign_event, verify_event_signature
from tests.harness.federation_client import SUPPORTED_VERSIONS
from tests.harness.federation_handlers import handle_invite, handle_keys, handle_transactions
from tests.harness.federation_routes import FEDERATION_V2

ROOM_VERSIONS = [pytest.param(v, id=f"v{v}") for v in SUPPORTED_VERSIONS]


def is_join(event: dict) -> bool:
    return (event.get("content") or {}).get("membership") == "join"


def body_is(text: str):
    return lambda event: (event.get("content") or {}).get("body") == text


def signed_join(federation, room_id: str, user_id: str) -> tuple[dict, str]:
    """make_join's template for `user_id`, completed and signed by the peer; and its version."""
    template = federation.make_join(room_id, user_id)
    version = template["room_version"]
    event = {**template["event"], "origin": federation.origin,
             "origin_server_ts": int(time.time() * 1000)}
    return sign_event(event, federation.origin, federation.key, version), version


def expect_refused(response) -> None:
    """A refused send_join: 400 (no code mandated; M_INVALID_PARAM recommended) or 403."""
    if response.status_code == 403:
        expect_error(response, 403, "M_FORBIDDEN")
    else:
        expect_error(response, 400)


# -- make_join -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_make_join_answers_a_template_for_the_user(hs, federation, version):
    """make_join answers the room's version and a join template for the requested user.

    Spec: server-server-api/#get_matrixfederationv1make_joinroomiduserid — the template
    is an `m.room.member` event for the room whose `sender` and `state_key` are the
    user, with membership `join` (the joining server MUST check exactly these), and
    `room_version` is the room's version.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat", room_version=version)
    bob = federation.peer.user_id("bob")

    answer = federation.make_join(room, bob)

    assert answer.get("room_version") == version, (
        f"make_join answered room_version {answer.get('room_version')!r} for a version "
        f"{version} room")
    event = answer["event"]
    wrong = {key: event.get(key) for key, want in
             {"type": "m.room.member", "room_id": room, "sender": bob, "state_key": bob}.items()
             if event.get(key) != want}
    assert not wrong and is_join(event), f"the template has wrong fields {wrong}: {event}"


@pytest.mark.parametrize("versions", [
    pytest.param(["9", "10", "11"], id="ver-lacks-the-rooms-version"),
    pytest.param(None, id="no-ver-means-only-v1"),
])
def test_make_join_refuses_a_joiner_that_lacks_the_rooms_version(hs, federation, versions):
    """make_join answers 400 M_INCOMPATIBLE_ROOM_VERSION, naming the room's version,
    when the room's version is not among those the joining server supports.

    Spec: server-server-api/#get_matrixfederationv1make_joinroomiduserid — `ver` lists
    the joining server's versions (default `[1]`); a room of another version gives 400
    with `M_INCOMPATIBLE_ROOM_VERSION`, and `room_version` is then required.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat", room_version="12")
    response = federation.do("GET", ["make_join", room, federation.peer.user_id("bob")],
                             params={"ver": versions})
    body = expect_error(response, 400, "M_INCOMPATIBLE_ROOM_VERSION")
    assert body.get("room_version") == "12", f"the error does not name version 12: {body}"


def test_make_join_refuses_a_user_of_another_server(hs, federation):
    """make_join refuses to make a template for a user who is not on the asking server.

    Spec: server-server-api/#get_matrixfederationv1make_joinroomiduserid — the user ID
    MUST be a user on the origin server. The spec names no code for this; a refusal as
    a forbidden join (403 M_FORBIDDEN) or an invalid request (400 M_INVALID_PARAM) are
    both read as allowed.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    response = federation.do("GET", ["make_join", room, "@mallory:elsewhere.example.org"],
                             params={"ver": list(SUPPORTED_VERSIONS)})
    expect_one_error(response, (403, "M_FORBIDDEN"), (400, "M_INVALID_PARAM"))


def test_make_join_for_an_unknown_room_is_not_found(hs, federation):
    """make_join for a room the server does not know answers 404 M_NOT_FOUND.

    Spec: server-server-api/#get_matrixfederationv1make_joinroomiduserid — 404 when the
    room is unknown to the receiving server.
    """
    response = federation.do("GET", ["make_join", f"!nosuchroom:{hs.server_name}",
                                     federation.peer.user_id("bob")],
                             params={"ver": list(SUPPORTED_VERSIONS)})
    expect_error(response, 404, "M_NOT_FOUND")


def test_make_join_refuses_an_uninvited_user_in_an_invite_only_room(hs, federation):
    """make_join answers 403 M_FORBIDDEN for an uninvited user of an invite-only room.

    Spec: server-server-api/#get_matrixfederationv1make_joinroomiduserid — 403 when the
    room does not permit the user to join; the auth rules allow a join to an `invite`
    room only to an invited (or joined) user (rooms/v12 auth rules, m.room.member join).
    """
    alice = hs.register()
    room = alice.create_room(preset="private_chat")
    response = federation.do("GET", ["make_join", room, federation.peer.user_id("bob")],
                             params={"ver": list(SUPPORTED_VERSIONS)})
    expect_error(response, 403, "M_FORBIDDEN")


def test_an_invited_peer_user_joins_an_invite_only_room(hs, fake_homeserver):
    """A peer user invited to an invite-only room can run the join handshake.

    Spec: server-server-api/#joining-rooms — an invited user's server joins through a
    resident; the auth rules allow the join of an invited user to an `invite` room.
    """
    peer = fake_homeserver(handle_keys(), handle_invite(), handle_transactions())
    federation = peer.client()
    alice = hs.register()
    room = alice.create_room(preset="private_chat")
    bob = peer.user_id("bob")
    alice.invite(room, bob)

    federation.join(room, bob)

    alice.sync_until(state_has(room, "m.room.member", bob, predicate=is_join))


# -- send_join -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_a_peer_user_joins_a_room_of_each_version(hs, fake_homeserver, version):
    """After make_join and send_join, local members see the peer's user as joined.

    Spec: server-server-api/#joining-rooms — the resident accepts the signed join into
    the room's graph; the join then is the user's membership in the room state.
    """
    peer = fake_homeserver(handle_keys(), handle_transactions())
    alice = hs.register()
    room = alice.create_room(preset="public_chat", room_version=version)
    bob = peer.user_id("bob")

    peer.client().join(room, bob)

    alice.sync_until(state_has(room, "m.room.member", bob, predicate=is_join))


def test_send_join_returns_the_room_state_and_auth_chain_signed(hs, fake_homeserver):
    """send_join answers the state before the join and its auth chain, each event
    hashed and signed by its sender's server.

    Spec: server-server-api/#put_matrixfederationv2send_joinroomideventid — `state` is
    the resolved room state before the join; `auth_chain` holds the auth chain of the
    join and of every event in `state` (without `omit_members` none may be left out);
    server-server-api/#validating-hashes-and-signatures-on-received-events.
    """
    peer = fake_homeserver(handle_keys(), handle_transactions())
    federation = peer.client()
    alice = hs.register()
    room = alice.create_room(preset="public_chat", name="Signed state")

    joined = federation.join(room, peer.user_id("bob"))

    state_keys = {(e["type"], e["state_key"]) for e in joined.state}
    for needed in [("m.room.create", ""), ("m.room.power_levels", ""),
                   ("m.room.join_rules", ""), ("m.room.name", ""),
                   ("m.room.member", alice.user_id)]:
        assert needed in state_keys, f"the state lacks {needed}: {sorted(state_keys)}"
    chain_ids = {compute_event_id(e, joined.room_version) for e in joined.auth_chain}
    named = {compute_event_id(e, joined.room_version): (e["type"], e.get("state_key"))
             for e in joined.state}
    for event in [joined.event, *joined.state]:
        missing = set(event["auth_events"]) - chain_ids
        assert not missing, (
            f"auth events of {event['type']} {event.get('state_key')!r} are not in the "
            f"auth_chain: {[(m, named.get(m, 'not in state either')) for m in missing]}")
    target_keys = federation.target_keys()
    for event in [*joined.state, *joined.auth_chain]:
        expected = encode_base64(content_hash(event))
        assert event["hashes"]["sha256"] == expected, f"bad content hash on {event}"
        try:
            verify_event_signature(event, hs.server_name, target_keys, joined.room_version)
        except SignatureError as error:
            pytest.fail(f"{event['type']} in the send_join answer: {error}", pytrace=False)


def test_send_join_refuses_an_event_whose_id_is_not_the_path_event_id(hs, federation):
    """send_join answers 400 when the event ID in the path is not the event's ID.

    Spec: server-server-api/#put_matrixfederationv2send_joinroomideventid — the path
    names the join event's ID; a request that does not match it is invalid (400).
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    event, version = signed_join(federation, room, federation.peer.user_id("bob"))
    other = dict(event, origin_server_ts=event["origin_server_ts"] + 1)
    wrong_id = compute_event_id(sign_event(other, federation.origin, federation.key, version),
                                version)
    response = federation.do("PUT", ["send_join", room, wrong_id], json=event,
                             prefix=FEDERATION_V2)
    expect_error(response, 400)


def _not_a_join(event, federation):
    return {**event, "content": {"membership": "leave"}}


def _state_key_not_sender(event, federation):
    return {**event, "state_key": federation.peer.user_id("carol")}


def _sender_of_another_server(event, federation):
    return {**event, "sender": "@mallory:elsewhere.example.org",
            "state_key": "@mallory:elsewhere.example.org"}


@pytest.mark.parametrize("spoil", [
    pytest.param(_not_a_join, id="membership-not-join"),
    pytest.param(_state_key_not_sender, id="state-key-not-sender"),
    pytest.param(_sender_of_another_server, id="sender-not-on-origin"),
])
def test_send_join_refuses_an_event_that_is_not_the_origins_join(hs, federation, spoil):
    """send_join refuses a signed event that is not a join of the origin's own user.

    Spec: server-server-api/#put_matrixfederationv2send_joinroomideventid — the
    resident MUST refuse an event whose membership is not `join`, whose `state_key` is
    not its `sender`, or whose sender is not on the origin server; it SHOULD answer
    `M_INVALID_PARAM` (a 400), though no code is mandated, so a 403 M_FORBIDDEN is read
    as allowed as well.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    template, version = signed_join(federation, room, federation.peer.user_id("bob"))
    unsigned = {k: v for k, v in spoil(template, federation).items()
                if k not in ("hashes", "signatures")}
    event = sign_event(unsigned, federation.origin, federation.key, version)
    response = federation.do("PUT", ["send_join", room, compute_event_id(event, version)],
                             json=event, prefix=FEDERATION_V2)
    expect_refused(response)


def test_send_join_refuses_a_join_with_a_bad_signature(hs, fake_homeserver, federation):
    """send_join refuses a join event the origin's key did not sign.

    Spec: server-server-api/#put_matrixfederationv2send_joinroomideventid — the resident
    MUST refuse a join that fails the signature check; it SHOULD answer
    `M_INVALID_PARAM` (a 400), though no code is mandated, so a 403 M_FORBIDDEN is read
    as allowed as well.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    event, version = signed_join(federation, room, federation.peer.user_id("bob"))
    impostor = fake_homeserver(handle_keys())  # signs under its own name, not the origin's
    forged = sign_event({k: v for k, v in event.items() if k not in ("hashes", "signatures")},
                        federation.origin, impostor.key, version)
    response = federation.do("PUT", ["send_join", room, compute_event_id(forged, version)],
                             json=forged, prefix=FEDERATION_V2)
    expect_refused(response)


# -- after the join --------------------------------------------------------------------------


def test_a_local_message_after_the_join_reaches_the_peer(hs, fake_homeserver):
    """Once the peer's user has joined, local members' events are sent to the peer.

    Spec: server-server-api/#joining-rooms — the joined server now participates in the
    room; server-server-api/#transactions — events reach the other servers in the room
    as PDUs in transactions.
    """
    received: list[dict] = []
    peer = fake_homeserver(handle_keys(), handle_transactions(on_pdu=received.append))
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    peer.client().join(room, peer.user_id("bob"))

    event_id = alice.send(room, {"msgtype": "m.text", "body": "hello, peer"})

    pdu = peer.wait_until(lambda: next((p for p in received if p.get("room_id") == room and
                                        body_is("hello, peer")(p)), None),
                          what=f"the PDU of {event_id}")
    assert pdu["sender"] == alice.user_id and pdu["type"] == "m.room.message", pdu
    assert compute_event_id(pdu, peer.room_version_of(room)) == event_id, (
        f"the PDU's ID is not {event_id}, the ID the client was given: {pdu}")

