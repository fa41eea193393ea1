# SPDX-License-Identifier: Apache-2.0
"""GET /hierarchy: walking a space's tree of rooms, page by page.

Each test builds its own spaces on the target; children are ordered with `order` so the
walk's order is what the spec makes it, not an accident of timing.

Spec: client-server-api/#spaces, #get_matrixclientv1roomsroomidhierarchy.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error
from tests.harness.spaces import add_child, children_of, create_space, hierarchy, \
    hierarchy_page, room_ids, walk

pytestmark = pytest.mark.spec("1.2")


def _tree(hs, alice):
    """space → [subspace (order a) → [leaf], sibling (order b)]."""
    space, subspace = create_space(alice, name="Harbour"), create_space(alice)
    leaf, sibling = alice.create_room(preset="public_chat"), \
        alice.create_room(preset="public_chat")
    add_child(alice, space, subspace, via=[hs.server_name], order="a")
    add_child(alice, space, sibling, via=[hs.server_name], order="b")
    add_child(alice, subspace, leaf, via=[hs.server_name])
    return space, subspace, leaf, sibling


def test_a_space_is_listed_with_its_children_and_their_child_events(hs):
    """The space comes first, with its m.space.child events stripped, then its children.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — `rooms` starts at
    the given room; `children_state` holds the space's m.space.child events as stripped
    state with `origin_server_ts`, and is empty for a room that is not a space.
    """
    alice = hs.register()
    space = create_space(alice, name="Harbour")
    room = alice.create_room(preset="public_chat", name="Quay")
    add_child(alice, space, room, via=[hs.server_name], suggested=True)

    rooms = hierarchy_page(alice, space)["rooms"]

    assert room_ids(rooms) == [space, room]
    top, child = rooms
    assert top["room_type"] == "m.space" and top["name"] == "Harbour", top
    (event,) = top["children_state"]
    assert (event["type"], event["state_key"], event["sender"]) == \
        ("m.space.child", room, alice.user_id)
    assert event["content"] == {"via": [hs.server_name], "suggested": True}
    assert isinstance(event["origin_server_ts"], int)
    assert child["name"] == "Quay" and child["children_state"] == [], child
    assert child["num_joined_members"] == 1 and child["join_rule"] == "public", child


def test_the_walk_is_depth_first_in_the_children_order(hs):
    """A child space is walked before its later siblings.

    Spec: client-server-api/#discovering-rooms-within-spaces — the hierarchy is walked
    depth first, recursing into a child space before the next non-space child;
    #ordering-of-children-within-a-space — children are ordered by `order`.
    """
    alice = hs.register()
    space, subspace, leaf, sibling = _tree(hs, alice)

    assert room_ids(walk(alice, space)) == [space, subspace, leaf, sibling]


def test_children_are_ordered_by_order_then_timestamp(hs):
    """Children with a valid `order` come first, by it; the others by event timestamp.

    Spec: client-server-api/#ordering-of-children-within-a-space — valid `order` values
    sort lexicographically and come before children without one, which sort by the
    `origin_server_ts` of their m.space.child event.
    """
    alice = hs.register()
    space = create_space(alice)
    first_unordered, second_unordered, b, a = (alice.create_room(preset="public_chat")
                                               for _ in range(4))
    add_child(alice, space, first_unordered, via=[hs.server_name])
    add_child(alice, space, second_unordered, via=[hs.server_name])
    add_child(alice, space, b, via=[hs.server_name], order="b")
    add_child(alice, space, a, via=[hs.server_name], order=" a")

    rooms = hierarchy_page(alice, space)["rooms"]

    assert children_of(rooms, space) == [a, b, first_unordered, second_unordered]
    assert room_ids(rooms) == [space, a, b, first_unordered, second_unordered]


@pytest.mark.parametrize("max_depth, expected", [
    pytest.param(0, ["space"], id="root-only"),
    pytest.param(1, ["space", "subspace", "sibling"], id="children"),
    pytest.param(2, ["space", "subspace", "leaf", "sibling"], id="grandchildren"),
])
def test_max_depth_bounds_how_far_the_walk_goes(hs, max_depth, expected):
    """`max_depth` 0 is the root alone, 1 adds its children, 2 their children.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — `max_depth` limits
    how far to go into the space; when it is reached no further child rooms are
    returned.
    """
    alice = hs.register()
    space, subspace, leaf, sibling = _tree(hs, alice)
    names = {"space": space, "subspace": subspace, "leaf": leaf, "sibling": sibling}

    rooms = walk(alice, space, max_depth=max_depth)

    assert room_ids(rooms) == [names[n] for n in expected]


def test_suggested_only_follows_only_suggested_children(hs):
    """With `suggested_only` the walk skips children not marked suggested.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — `suggested_only`
    makes the server consider only suggested rooms (`suggested: true` in the
    m.space.child content).
    """
    alice = hs.register()
    space = create_space(alice)
    suggested, other = alice.create_room(preset="public_chat"), \
        alice.create_room(preset="public_chat")
    add_child(alice, space, suggested, via=[hs.server_name], suggested=True)
    add_child(alice, space, other, via=[hs.server_name], suggested=False)

    assert room_ids(walk(alice, space, suggested_only=True)) == [space, suggested]
    assert set(room_ids(walk(alice, space))) == {space, suggested, other}


def test_pages_together_give_the_whole_walk_once(hs):
    """Following `next_batch` with a small `limit` yields the same rooms as one page.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — `limit` caps the
    rooms per response; `next_batch` continues the walk and is absent when there are no
    further results.
    """
    alice = hs.register()
    space, subspace, leaf, sibling = _tree(hs, alice)

    first = hierarchy_page(alice, space, limit=1)
    paged = walk(alice, space, limit=1)

    assert room_ids(first["rooms"]) == [space] and "next_batch" in first, first
    assert room_ids(paged) == [space, subspace, leaf, sibling]
    last = hierarchy_page(alice, space, limit=10)
    assert "next_batch" not in last, last


def test_a_child_event_without_via_is_not_a_child(hs):
    """An m.space.child event with no `via` does not make the room a child.

    Spec: client-server-api/#mspacechild — children are removed from a space by
    omitting `via` in the m.space.child content.
    """
    alice = hs.register()
    space = create_space(alice)
    kept, removed = alice.create_room(preset="public_chat"), \
        alice.create_room(preset="public_chat")
    add_child(alice, space, kept, via=[hs.server_name])
    alice.send_state(space, "m.space.child", {}, state_key=removed)

    rooms = walk(alice, space)

    assert room_ids(rooms) == [space, kept]
    assert children_of(rooms, space) == [kept]


def test_a_loop_of_spaces_lists_each_room_once(hs):
    """Spaces that contain each other are walked without looping, each room once.

    Spec: client-server-api/#discovering-rooms-within-spaces — servers should gracefully
    break loops.
    """
    alice = hs.register()
    outer, inner = create_space(alice), create_space(alice)
    add_child(alice, outer, inner, via=[hs.server_name])
    add_child(alice, inner, outer, via=[hs.server_name])

    assert room_ids(walk(alice, outer)) == [outer, inner]


def test_rooms_the_user_may_not_see_are_left_out(hs):
    """A private child is hidden from a non-member; a world-readable one is shown.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — rooms are returned
    when the user is joined, may join (invited, public, restricted with a condition
    met), may knock, or the history is world_readable; others are not returned.
    """
    alice, bob = hs.register(), hs.register()
    space = create_space(alice)
    private = alice.create_room(preset="private_chat")
    readable = alice.create_room(preset="private_chat", initial_state=[{
        "type": "m.room.history_visibility", "state_key": "",
        "content": {"history_visibility": "world_readable"}}])
    add_child(alice, space, private, via=[hs.server_name], order="a")
    add_child(alice, space, readable, via=[hs.server_name], order="b")

    assert room_ids(walk(bob, space)) == [space, readable]
    assert room_ids(walk(alice, space)) == [space, private, readable]


def test_an_invite_makes_a_private_child_visible(hs):
    """A user invited to a private child sees it in the hierarchy.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — rooms the user
    already has permission to join, such as with membership `invite`, are returned.
    """
    alice, bob = hs.register(), hs.register()
    space = create_space(alice)
    private = alice.create_room(preset="private_chat")
    add_child(alice, space, private, via=[hs.server_name])
    alice.invite(private, bob)

    assert room_ids(walk(bob, space)) == [space, private]


def test_a_root_the_user_may_not_see_is_forbidden(hs):
    """Asking for the hierarchy of a private space one is not in is refused with 403.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — 403 M_FORBIDDEN
    when the user cannot view or peek on the room.
    """
    alice, bob = hs.register(), hs.register()
    space = create_space(alice, preset="private_chat")

    expect_error(hierarchy(bob, space), 403, "M_FORBIDDEN")


def test_an_unknown_from_token_is_refused(hs):
    """A `from` the server never gave out is refused with 400.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — 400 when the
    `from` token is unknown to the server (M_INVALID_PARAM in the spec's example).
    """
    alice = hs.register()
    space = create_space(alice)

    expect_error(hierarchy(alice, space, from_="not-a-token"), 400, "M_INVALID_PARAM")


def test_changing_max_depth_while_paginating_is_refused(hs):
    """A `next_batch` used with another `max_depth` than the first page's is refused.

    Spec: client-server-api/#get_matrixclientv1roomsroomidhierarchy — `max_depth` and
    `suggested_only` cannot change during pagination; 400 when they do.
    """
    alice = hs.register()
    space, *_ = _tree(hs, alice)
    token = hierarchy_page(alice, space, limit=1, max_depth=3)["next_batch"]

    expect_error(hierarchy(alice, space, limit=1, max_depth=1, from_=token), 400,
                 "M_INVALID_PARAM")
