# SPDX-License-Identifier: Apache-2.0
"""Joining a room that lives on another server: the target as the joining server.

A fake peer hosts the room; a local user asks the target to join it, by room ID with
`via` or by an alias of the peer. The target must run the remote join handshake
(make_join, then send_join) against the peer, show the room and its state to the user,
and from then on exchange the room's events with the peer.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness.assertions import expect_ok, expect_one_error
from tests.harness.checks import expect_error, joined_to, state_has, timeline_has
from tests.harness.crypto import content_hash, encode_base64, verify_event_signature
from tests.harness.federation_handlers import handle_keys, handle_make_join, \
    handle_make_send_join, handle_query_directory, handle_transactions

ROOM_VERSIONS = [pytest.param(v, id=f"v{v}") for v in ("10", "11", "12")]


def _resident(fake_homeserver, version: str = "12", *, on_pdu=None, on_join=None, **room):
    """A peer hosting a fresh room, answering the join handshake and transactions."""
    peer = fake_homeserver(handle_keys(), handle_make_send_join(on_join=on_join),
                           handle_transactions(on_pdu=on_pdu))
    return peer, peer.create_room(version, **room)


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_remote_join_runs_make_join_then_send_join_against_the_via_server(
        hs, fake_homeserver, version):
    """Joining a remote room by ID asks the `via` server for a template, then sends the join.

    Spec: server-server-api/#joining-rooms — a joining server obtains a template with
    GET /make_join from a resident, signs it, and submits it to that resident with
    PUT /send_join; client-server-api/#post_matrixclientv3joinroomidoralias — `via`
    names the servers to join through.
    """
    joins = []
    peer, room = _resident(fake_homeserver, version, on_join=joins.append)
    alice = hs.register()

    assert alice.join(room.room_id, via=[peer.server_name]) == room.room_id

    handshake = [r.target.split("/")[4] for r in peer.requests
                 if r.target.startswith("/_matrix/federation/")
                 and r.target.split("/")[4] in ("make_join", "send_join")]
    assert handshake == ["make_join", "send_join"], peer.requests
    assert room.membership(alice.user_id) == "join"
    assert joins[0]["sender"] == alice.user_id and hs.server_name in joins[0]["signatures"]


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_remotely_joined_room_shows_the_peers_state_in_sync(hs, fake_homeserver, version):
    """After a remote join the room is in /sync, with the state the resident sent.

    Spec: client-server-api/#post_matrixclientv3joinroomidoralias — once joined the room
    appears in /sync and the user may see its current state; server-server-api/
    #put_matrixfederationv2send_joinroomideventid — the resident answers with the room's
    full state.
    """
    peer, room = _resident(fake_homeserver, version)
    room.send_state("m.room.name", {"name": "Harbour watch"})
    alice = hs.register()

    alice.join(room.room_id, via=[peer.server_name])

    alice.sync_until(
        joined_to(room.room_id),
        state_has(room.room_id, "m.room.name",
                  predicate=lambda e: e["content"].get("name") == "Harbour watch"),
        state_has(room.room_id, "m.room.member", room.creator,
                  predicate=lambda e: e["content"].get("membership") == "join"),
        state_has(room.room_id, "m.room.member", alice.user_id,
                  predicate=lambda e: e["content"].get("membership") == "join"),
    )


def test_join_by_alias_asks_the_alias_server_for_the_room(hs, fake_homeserver):
    """Joining by a remote alias resolves it with the alias's server, then joins through it.

    Spec: server-server-api/#joining-rooms — the joining server queries the directory
    server (GET /query/directory) for the room ID and join candidates, then does the
    handshake with a resident; server-server-api/#get_matrixfederationv1querydirectory.
    """
    peer, room = _resident(fake_homeserver)
    peer.allow(handle_query_directory({"harbour": room.room_id}))
    alice = hs.register()

    joined = alice.join(f"#harbour:{peer.server_name}")

    assert joined == room.room_id
    assert peer.requests_to("GET", "query") and peer.requests_to("PUT", "send_join")
    alice.sync_until(joined_to(room.room_id))


def test_join_by_an_alias_the_remote_server_does_not_know_is_not_found(hs, fake_homeserver):
    """An alias its own server does not know cannot be joined: 404 M_NOT_FOUND.

    Spec: server-server-api/#get_matrixfederationv1querydirectory — the alias's server
    answers 404 when the alias does not exist, and there is then no room to join. The
    join endpoint lists no status for this case; the sibling knock endpoint and the
    alias lookup both use 404 M_NOT_FOUND for a room that cannot be found.
    """
    peer = fake_homeserver(handle_keys(), handle_query_directory({}))
    alice = hs.register()

    response = alice.do("POST", ["join", f"#nowhere:{peer.server_name}"], json={})

    expect_error(response, 404, "M_NOT_FOUND")
    assert peer.requests_to("GET", "query")


def test_messages_the_peer_sends_after_the_join_reach_the_local_user(hs, fake_homeserver):
    """A message the resident sends in a transaction after the join shows up in /sync.

    Spec: server-server-api/#put_matrixfederationv1sendtxnid — each PDU of a transaction
    is processed; client-server-api/#get_matrixclientv3sync — a joined member sees new
    events in the timeline.
    """
    peer, room = _resident(fake_homeserver)
    alice = hs.register()
    alice.join(room.room_id, via=[peer.server_name])
    alice.sync_until(joined_to(room.room_id))

    message = room.message("the tide turns at six")
    peer.client().send_transaction([message])

    alice.sync_until(timeline_has(room.room_id, room.event_id(message),
                                  predicate=lambda e: e["sender"] == room.creator))


def test_local_messages_reach_the_peer_signed_and_hashed_by_the_target(hs, fake_homeserver):
    """A local user's message in the joined room is sent to the resident, signed and hashed.

    Spec: server-server-api/#adding-hashes-and-signatures-to-outgoing-events — the
    sending server sets the content hash and signs the redacted event with its key;
    server-server-api/#transactions — PDUs are pushed to the other servers in the room.
    """
    pdus = []
    peer, room = _resident(fake_homeserver, on_pdu=pdus.append)
    alice = hs.register()
    alice.join(room.room_id, via=[peer.server_name])

    event_id = alice.send(room.room_id, {"msgtype": "m.text", "body": "aye"})

    pdu = peer.wait_until(lambda: next((p for p in pdus if room.event_id(p) == event_id), None),
                          what=f"the PDU of {event_id}")
    assert pdu["sender"] == alice.user_id and pdu["content"]["body"] == "aye"
    assert pdu["hashes"]["sha256"] == encode_base64(content_hash(pdu))
    verify_event_signature(pdu, hs.server_name, peer.client().target_keys(), room.version)


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_local_messages_point_at_the_rooms_latest_event_and_its_auth_events(
        hs, fake_homeserver, version):
    """A local event in a remote room follows the latest event and cites the right auth events.

    Spec: server-server-api/#pdus — a server creating an event lists as prev_events the
    events it knows that have no child yet; server-server-api/#auth-events-selection —
    the create event (not in room version 12), the power levels and the sender's
    membership.
    """
    pdus = []
    peer, room = _resident(fake_homeserver, version, on_pdu=pdus.append)
    alice = hs.register()
    alice.join(room.room_id, via=[peer.server_name])
    latest = room.message("anyone aboard?")
    peer.client().send_transaction([latest])
    alice.sync_until(timeline_has(room.room_id, room.event_id(latest)))

    event_id = alice.send(room.room_id, {"msgtype": "m.text", "body": "aboard"})

    pdu = peer.wait_until(lambda: next((p for p in pdus if room.event_id(p) == event_id), None),
                          what=f"the PDU of {event_id}")
    assert pdu["prev_events"] == [room.event_id(latest)]
    state = room.state_map([room.event_id(latest)])
    wanted = [("m.room.power_levels", ""), ("m.room.member", alice.user_id)]
    if version != "12":
        wanted.append(("m.room.create", ""))
    assert sorted(pdu["auth_events"]) == sorted(state[key] for key in wanted)


def test_the_join_event_is_the_templates_with_origin_and_timestamp_filled_in(
        hs, fake_homeserver):
    """The join sent to send_join keeps the template's place in the room and its auth events.

    Spec: server-server-api/#joining-rooms — the joining server adds or replaces
    `origin`, `origin_server_ts` and `event_id` on the template, checks its `type`,
    `room_id`, `sender`, `state_key` and `content.membership`, and signs it.
    """
    joins = []
    peer, room = _resident(fake_homeserver, on_join=joins.append)
    alice = hs.register()
    heads = list(room.extremities)
    auth = room.select_auth_events(room.state_map(), "m.room.member", alice.user_id,
                                   alice.user_id, {"membership": "join"})

    alice.join(room.room_id, via=[peer.server_name])

    join = joins[0]
    assert (join["type"], join["sender"], join["state_key"]) == \
        ("m.room.member", alice.user_id, alice.user_id)
    assert join["content"]["membership"] == "join" and join["room_id"] == room.room_id
    assert join["prev_events"] == heads and sorted(join["auth_events"]) == sorted(auth)


def test_make_join_offers_every_room_version_the_target_supports(hs, fake_homeserver):
    """The `ver` parameters of make_join list the room versions the target supports.

    Spec: server-server-api/#get_matrixfederationv1make_joinroomiduserid — `ver` holds the
    room versions the joining server supports; client-server-api/#mroom_versions-capability
    — `available` lists the versions the server supports.
    """
    peer, room = _resident(fake_homeserver)
    alice = hs.register()
    capabilities = expect_ok(alice.do("GET", ["capabilities"]), "get the capabilities")
    available = set(capabilities["capabilities"]["m.room_versions"]["available"])

    alice.join(room.room_id, via=[peer.server_name])

    offered = parse_qs(urlsplit(peer.requests_to("GET", "make_join")[0]).query).get("ver", [])
    assert available <= set(offered), f"make_join offered {offered}; the target supports " \
                                      f"{sorted(available)}"


def test_resident_refusing_make_join_gives_the_client_403(hs, fake_homeserver):
    """When the resident refuses the join (403 on make_join), the client gets 403 M_FORBIDDEN.

    Spec: client-server-api/#post_matrixclientv3joinroomidoralias — 403 when the user may
    not join, e.g. an invite-only room they are not invited to;
    server-server-api/#get_matrixfederationv1make_joinroomiduserid — 403 when the
    resident refuses.
    """
    peer, room = _resident(fake_homeserver, join_rule="invite")
    alice = hs.register()

    response = alice.do("POST", ["join", room.room_id], params={"via": peer.server_name},
                        json={})

    expect_error(response, 403, "M_FORBIDDEN")
    assert peer.requests_to("GET", "make_join") and not peer.requests_to("PUT", "send_join")
    assert room.membership(alice.user_id) is None


def _stopped_peer(fake_homeserver):
    """A server name with nobody answering (its room made while it still ran)."""
    gone = fake_homeserver(handle_keys())
    room = gone.create_room()
    gone.stop()
    return gone.server_name, room.room_id


def _peer_without_the_room(fake_homeserver):
    """A reachable server that is not in the room (make_join answers 404)."""
    other = fake_homeserver(handle_keys())
    stranger = fake_homeserver(handle_keys(), handle_make_join())
    return stranger.server_name, other.create_room().room_id


@pytest.mark.parametrize("setup", [
    pytest.param(_stopped_peer, id="via-server-unreachable"),
    pytest.param(_peer_without_the_room, id="via-server-not-in-room"),
])
def test_join_through_a_server_that_cannot_help_fails(hs, fake_homeserver, setup):
    """A join whose only `via` server cannot be reached, or is not in the room, fails.

    Spec: client-server-api/#post_matrixclientv3joinroomidoralias — one of the `via`
    servers must be in the room. The join endpoint names no status for this case:
    404 M_NOT_FOUND (no server to join through, as the knock endpoint has it) and
    502 M_UNKNOWN (the remote side failed, an error with no more specific code) are
    both accepted.
    """
    via, room_id = setup(fake_homeserver)
    alice = hs.register()

    response = alice.do("POST", ["join", room_id], params={"via": via}, json={})

    expect_one_error(response, (404, "M_NOT_FOUND"), (502, "M_UNKNOWN"))
    assert room_id not in expect_ok(alice.do("GET", ["joined_rooms"]),
                                    "list joined rooms")["joined_rooms"]
