# SPDX-License-Identifier: Apache-2.0
"""GET /joined_rooms: the rooms in which the user's membership is `join`.

Spec: client-server-api/#get_matrixclientv3joined_rooms (api/client-server/list_joined_rooms.yaml).
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_ok


def joined_rooms(client) -> list[str]:
    return expect_ok(client.do("GET", ["joined_rooms"]), "list joined rooms")["joined_rooms"]


def test_new_user_has_no_joined_rooms(hs):
    """A brand-new user is in no rooms.

    Spec: client-server-api/#get_matrixclientv3joined_rooms — lists the rooms with `join`
    membership, of which a new user has none.
    """
    assert joined_rooms(hs.register()) == []


def test_created_and_joined_rooms_are_listed(hs):
    """Rooms the user created and rooms the user joined are listed, each once.

    Spec: client-server-api/#get_matrixclientv3joined_rooms — every room in which the
    user has `join` membership.
    """
    alice, bob = hs.register(), hs.register()
    created = bob.create_room()
    other = alice.create_room(preset="public_chat")
    bob.join(other)
    rooms = joined_rooms(bob)
    assert sorted(rooms) == sorted([created, other]), f"/joined_rooms: {rooms}"


def test_invited_room_is_not_listed(hs):
    """A room the user is only invited to is not listed.

    Spec: client-server-api/#get_matrixclientv3joined_rooms — only `join` membership counts.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.invite(room, bob)
    assert room not in joined_rooms(bob)


@pytest.mark.parametrize(
    "removal",
    [
        pytest.param(lambda alice, bob, room: alice.kick(room, bob), id="kicked"),
        pytest.param(lambda alice, bob, room: alice.ban(room, bob), id="banned"),
    ],
)
def test_room_removed_from_is_not_listed(hs, removal):
    """After being kicked or banned, the room is no longer listed.

    Spec: client-server-api/#get_matrixclientv3joined_rooms — only `join` membership
    counts; a kick makes it `leave`, a ban `ban`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    assert room in joined_rooms(bob)
    removal(alice, bob, room)
    assert room not in joined_rooms(bob)
