# SPDX-License-Identifier: Apache-2.0
"""GET /hierarchy over federation, both ways.

Inbound: a fake peer asks the target about a space the target hosts, and gets the space
with its children split into those the peer could reach and those it could not.
Outbound: a local user walks a space one of whose children lives on the peer; the
target must ask the peer (a server from the child event's `via`) to describe it.

Spec: server-server-api/#spaces, #get_matrixfederationv1hierarchyroomid;
client-server-api/#spaces (server behaviour).
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.federation_handlers import handle_invite, handle_keys, handle_transactions
from tests.harness.federation_spaces import handle_hierarchy
from tests.harness.spaces import add_child, children_of, create_space, room_ids, walk

pytestmark = pytest.mark.spec("1.2")


def _ask(federation, room_id: str, **params):
    """The peer's GET /hierarchy/{roomId} to the target."""
    query = {k: ("true" if v else "false") for k, v in params.items()}
    return federation.do("GET", ["hierarchy", room_id], params=query)


# -- inbound: the peer asks the target -------------------------------------------------


def test_a_peer_gets_the_space_its_reachable_children_and_the_rest_as_inaccessible(
        hs, federation):
    """The answer holds the space with its child events, the public child summarised,
    and the private child (no user of the peer is in it) only by ID.

    Spec: server-server-api/#get_matrixfederationv1hierarchyroomid — `room` summarises
    the space with its m.space.child events in `children_state`; `children` holds the
    children the requesting server could peek or join; `inaccessible_children` lists
    those it has no way to peek or join.
    """
    alice = hs.register()
    space = create_space(alice, name="Harbour")
    public = alice.create_room(preset="public_chat", name="Quay")
    private = alice.create_room(preset="private_chat")
    add_child(alice, space, public, via=[hs.server_name])
    add_child(alice, space, private, via=[hs.server_name])

    answer = expect_ok(_ask(federation, space), "ask the target about its space")

    room = answer["room"]
    assert room["room_id"] == space and room["room_type"] == "m.space", room
    assert sorted(c["state_key"] for c in room["children_state"]) == sorted([public, private])
    assert [c["room_id"] for c in answer["children"]] == [public]
    assert answer["children"][0].get("name") == "Quay", answer["children"]
    assert answer["inaccessible_children"] == [private]


def test_a_private_child_with_a_member_of_the_peer_is_reachable(hs, fake_homeserver):
    """A private child is listed as reachable once a user of the asking server is invited.

    Spec: server-server-api/#get_matrixfederationv1hierarchyroomid — `children` holds the
    rooms the requesting server could join; an invited user of that server could.
    """
    peer = fake_homeserver(handle_keys(), handle_invite(), handle_transactions())
    alice = hs.register()
    space = create_space(alice)
    private = alice.create_room(preset="private_chat")
    add_child(alice, space, private, via=[hs.server_name])
    alice.invite(private, peer.user_id("bob"))

    answer = expect_ok(_ask(peer.client(), space), "ask the target about its space")

    assert [c["room_id"] for c in answer["children"]] == [private]
    assert answer["inaccessible_children"] == []


def test_suggested_only_leaves_out_children_not_suggested(hs, federation):
    """With `suggested_only=true` only suggested children are considered.

    Spec: server-server-api/#get_matrixfederationv1hierarchyroomid — `suggested_only`
    makes the server consider only children marked as suggested.
    """
    alice = hs.register()
    space = create_space(alice)
    suggested, other = alice.create_room(preset="public_chat"), \
        alice.create_room(preset="public_chat")
    add_child(alice, space, suggested, via=[hs.server_name], suggested=True)
    add_child(alice, space, other, via=[hs.server_name])

    answer = expect_ok(_ask(federation, space, suggested_only=True), "ask about the space")

    assert [c["state_key"] for c in answer["room"]["children_state"]] == [suggested]
    assert [c["room_id"] for c in answer["children"]] == [suggested]


def test_a_child_the_target_is_not_in_is_left_out(hs, federation):
    """A child room the target knows nothing about is neither a child nor inaccessible.

    Spec: server-server-api/#get_matrixfederationv1hierarchyroomid — rooms the
    responding server cannot provide details on are excluded from the response.
    """
    alice = hs.register()
    space = create_space(alice)
    unknown = "!nowhere:unknown.example"
    add_child(alice, space, unknown, via=["unknown.example"])

    answer = expect_ok(_ask(federation, space), "ask about the space")

    assert [c["state_key"] for c in answer["room"]["children_state"]] == [unknown]
    assert answer["children"] == [] and answer["inaccessible_children"] == []


def test_an_unknown_room_is_not_found(hs, federation):
    """Asking about a room the target does not know answers 404 M_NOT_FOUND.

    Spec: server-server-api/#get_matrixfederationv1hierarchyroomid — 404 when the room
    is not known to the server.
    """
    expect_error(_ask(federation, f"!unknown:{hs.server_name}"), 404, "M_NOT_FOUND")


def test_a_space_the_peer_cannot_reach_is_not_found(hs, federation):
    """A private space with no user of the asking server in it answers 404 M_NOT_FOUND.

    Spec: server-server-api/#get_matrixfederationv1hierarchyroomid — 404 when the
    requesting server is unable to peek or join the room.
    """
    alice = hs.register()
    space = create_space(alice, preset="private_chat")

    expect_error(_ask(federation, space), 404, "M_NOT_FOUND")


# -- outbound: the target asks the peer ------------------------------------------------


def _remote_subspace(fake_homeserver, asked: list):
    """A peer hosting a space with a public room and a private one as its children."""
    peer = fake_homeserver(handle_keys(), handle_hierarchy(on_request=asked.append))
    subspace = peer.create_room("10", room_type="m.space")
    public = peer.create_room("10")
    public.send_state("m.room.name", {"name": "Lighthouse"})
    private = peer.create_room("10", join_rule="invite")
    for child, order in ((public, "a"), (private, "b")):
        subspace.send_state("m.space.child", {"via": [peer.server_name], "order": order},
                            state_key=child.room_id)
    return peer, subspace, public, private


def test_a_child_on_another_server_is_described_by_a_via_server(hs, fake_homeserver):
    """Walking into a child the target is not in asks the `via` server's /hierarchy,
    whose answer also supplies the grandchildren; inaccessible ones are left out.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — where a child room
    is unknown to the local server, federation is used to fill in the details, asking
    the servers in `via`; server-server-api/#get_matrixfederationv1hierarchyroomid —
    `inaccessible_children` should not be re-requested.
    """
    asked: list = []
    peer, subspace, public, private = _remote_subspace(fake_homeserver, asked)
    alice = hs.register()
    space = create_space(alice)
    add_child(alice, space, subspace.room_id, via=[peer.server_name])

    rooms = walk(alice, space)

    assert room_ids(rooms) == [space, subspace.room_id, public.room_id]
    assert children_of(rooms, subspace.room_id) == [public.room_id, private.room_id]
    listed = {room["room_id"]: room for room in rooms}
    assert listed[public.room_id].get("name") == "Lighthouse", listed[public.room_id]
    assert listed[subspace.room_id].get("room_type") == "m.space"
    assert [room for room, _ in asked] == [subspace.room_id], \
        f"the target asked the peer about {asked}; only the subspace needed asking"


def test_suggested_only_is_passed_on_to_the_via_server(hs, fake_homeserver):
    """A walk with `suggested_only` asks the remote server for suggested children only.

    Spec: server-server-api/#get_matrixfederationv1hierarchyroomid — `suggested_only`;
    client-server-api/#get_matrixclientv1roomsroomidhierarchy — only suggested rooms
    are considered.
    """
    asked: list = []
    peer, subspace, public, private = _remote_subspace(fake_homeserver, asked)
    alice = hs.register()
    space = create_space(alice)
    add_child(alice, space, subspace.room_id, via=[peer.server_name], suggested=True)

    rooms = walk(alice, space, suggested_only=True)

    assert room_ids(rooms) == [space, subspace.room_id]
    assert asked == [(subspace.room_id, True)]
