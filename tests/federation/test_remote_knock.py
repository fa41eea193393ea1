# SPDX-License-Identifier: Apache-2.0
"""Knocking on a room that lives on another server: the target as the knocking server.

A fake peer hosts a room whose join rule is `knock`; a local user knocks through the
peer. The target must run make_knock then send_knock against it, and show the room in
the user's /sync `knock` section with the stripped state the peer answered with.

Spec: server-server-api/#knocking-upon-a-room; client-server-api/
#post_matrixclientv3knockroomidoralias (`via` names the servers to knock through).
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_ok
from tests.harness.checks import expect_error
from tests.harness.federation_handlers import handle_keys, handle_make_send_knock, \
    handle_make_send_leave
from tests.harness.rooms import room_entry, stripped_events


def _knock(client, room_id: str, via: str, reason: str | None = None):
    body = {"reason": reason} if reason else {}
    return client.do("POST", ["knock", room_id], json=body, params={"via": [via]})


def test_a_remote_knock_runs_make_knock_then_send_knock_against_the_via_server(
        hs, fake_homeserver):
    """The target asks the `via` server for a knock template, then sends the signed knock.

    Spec: server-server-api/#knocking-upon-a-room — the knocking server gets a template
    with GET /make_knock, signs it and submits it with PUT /send_knock.
    """
    knocks = []
    peer = fake_homeserver(handle_keys(), handle_make_send_knock(on_knock=knocks.append))
    room = peer.create_room("12", join_rule="knock")
    alice = hs.register()

    answer = expect_ok(_knock(alice, room.room_id, peer.server_name, "let me in"),
                       "knock through the peer")

    assert answer["room_id"] == room.room_id
    steps = [r.target.split("/")[4] for r in peer.requests
             if r.target.startswith("/_matrix/federation/")]
    assert steps[-2:] == ["make_knock", "send_knock"], peer.requests
    assert room.membership(alice.user_id) == "knock"
    assert knocks[0]["content"].get("reason") == "let me in", knocks[0]
    assert hs.server_name in knocks[0]["signatures"], knocks[0]


def test_a_remote_knock_shows_the_peers_stripped_state_in_sync(hs, fake_homeserver):
    """After a remote knock the room is under `rooms.knock`, with the state the peer gave.

    Spec: server-server-api/#put_matrixfederationv1send_knockroomideventid — the answer's
    knock_room_state is what the knocking user may see of the room;
    client-server-api/#get_matrixclientv3sync — knocked rooms carry `knock_state`.
    """
    peer = fake_homeserver(handle_keys(), handle_make_send_knock())
    room = peer.create_room("12", join_rule="knock")
    room.send_state("m.room.name", {"name": "Knock here"})
    alice = hs.register()

    expect_ok(_knock(alice, room.room_id, peer.server_name), "knock through the peer")

    entry = room_entry(alice, "knock", room.room_id)
    names = [e for e in stripped_events(entry, "knock_state") if e.get("type") == "m.room.name"]
    assert names and names[0]["content"] == {"name": "Knock here"}, entry


def test_a_remote_room_refusing_the_knock_gives_the_client_403(hs, fake_homeserver):
    """A resident refusing make_knock (the room is not knockable) refuses the client too.

    Spec: client-server-api/#post_matrixclientv3knockroomidoralias — 403 when the user
    is not allowed to knock on the room.
    """
    peer = fake_homeserver(handle_keys(), handle_make_send_knock())
    room = peer.create_room("12", join_rule="invite")
    alice = hs.register()

    expect_error(_knock(alice, room.room_id, peer.server_name), 403, "M_FORBIDDEN")


@pytest.mark.optional
def test_a_remote_knock_can_be_withdrawn_by_leaving(hs, fake_homeserver):
    """Leaving a room one knocked on remotely sends the leave to the resident.

    Optional: servers "can retract knocks over federation by leaving the room".

    Spec: server-server-api/#knocking-upon-a-room; client-server-api/
    #post_matrixclientv3roomsroomidleave — leaving also retracts a knock;
    server-server-api/#leaving-rooms-rejecting-invites — a server not in the room
    leaves through make_leave/send_leave with a resident.
    """
    peer = fake_homeserver(handle_keys(), handle_make_send_knock(), handle_make_send_leave())
    room = peer.create_room("12", join_rule="knock")
    alice = hs.register()
    expect_ok(_knock(alice, room.room_id, peer.server_name), "knock through the peer")

    alice.leave(room.room_id)

    assert room.membership(alice.user_id) == "leave"
