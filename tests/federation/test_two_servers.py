# SPDX-License-Identifier: Apache-2.0
"""Two real homeservers federating: users of `hs` and `hs2` share rooms.

Everything crosses through the servers' own federation (no fake peer in between): a
user joins a room of the other server by alias, messages arrive both ways through
/sync, an invite crosses and is accepted, a profile is looked up across, a leave is
seen on both sides, and a server ACL shuts the second server out. `hs2` is the
`--second-server-url` target, or a second reference server the suite starts beside
its own first one.

Spec: server-server-api/#joining-rooms, #inviting-to-a-room, #leaving-rooms-rejecting-invites,
#transactions, #querying-for-information, #server-access-control-lists-acls.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.checks import invited_to, joined_to, left, state_has, timeline_has, \
    without
from tests.harness.rooms import deny_server, host_of, membership_is

pytestmark = pytest.mark.federation

# The first request between two servers also fetches signing keys, and the joining
# server resolves the room's state: more than one server's round trip.
FEDERATION_TIMEOUT = 30.0

HOSTS = [pytest.param(False, id="room-on-hs"), pytest.param(True, id="room-on-hs2")]


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def says(body: str):
    """A predicate for `timeline_has`: a message with this body."""
    return lambda event: (event.get("content") or {}).get("body") == body


def public_room_with_alias(owner) -> tuple[str, str]:
    """A public room of `owner` with a fresh alias on its server: (room ID, alias)."""
    localpart = f"two-servers-{secrets.token_hex(6)}"
    room = owner.create_room(preset="public_chat", room_alias_name=localpart)
    return room, f"#{localpart}:{owner.user_id.split(':', 1)[1]}"


def host_and_visitor(hs, hs2, on_hs2: bool):
    """A user of the hosting server and a user of the other one."""
    host, visitor = (hs2, hs) if on_hs2 else (hs, hs2)
    return host.register(), visitor.register()


def visit(owner, guest) -> str:
    """`guest` joins `owner`'s new public room by its alias; both see the join."""
    room, alias = public_room_with_alias(owner)
    assert guest.join(alias) == room
    owner.sync_until(timeline_has(room, predicate=membership_is(guest, "join")),
                     timeout=FEDERATION_TIMEOUT)
    return room


@pytest.mark.parametrize("on_hs2", HOSTS)
def test_a_user_joins_a_room_of_the_other_server_by_alias(hs, hs2, on_hs2):
    """A user joins a room of the other server by its alias; both servers see the join.

    Spec: server-server-api/#joining-rooms — the joining server resolves the alias
    (GET /query/directory), then make_join/send_join through the room's server, which
    sends the join to the room; client-server-api/#post_matrixclientv3joinroomidoralias.
    """
    owner, guest = host_and_visitor(hs, hs2, on_hs2)

    room = visit(owner, guest)

    guest.sync_until(joined_to(room), state_has(room, "m.room.member", owner.user_id),
                     timeout=FEDERATION_TIMEOUT)


@pytest.mark.parametrize("on_hs2", HOSTS)
def test_messages_cross_both_ways_through_sync(hs, hs2, on_hs2):
    """Each user's message reaches the other server's user through /sync.

    Spec: server-server-api/#transactions — servers push new events to the other
    servers in the room; client-server-api/#get_matrixclientv3sync.
    """
    owner, guest = host_and_visitor(hs, hs2, on_hs2)
    room = visit(owner, guest)

    from_guest = guest.send(room, text("from the visitor"))
    owner.sync_until(timeline_has(room, from_guest, says("from the visitor")),
                     timeout=FEDERATION_TIMEOUT)
    from_owner = owner.send(room, text("from the host"))
    guest.sync_until(timeline_has(room, from_owner, says("from the host")),
                     timeout=FEDERATION_TIMEOUT)


def test_an_invite_across_servers_is_accepted(hs, hs2):
    """A user invited into a private room of the other server sees the invite and joins.

    Spec: server-server-api/#inviting-to-a-room — the inviting server has the invitee's
    server countersign the invite (PUT /v2/invite); the invitee then joins through the
    room's server; client-server-api/#post_matrixclientv3roomsroomidinvite.
    """
    alice, bob = hs.register(), hs2.register()
    room = alice.create_room(preset="private_chat")

    alice.invite(room, bob)
    bob.sync_until(invited_to(room), timeout=FEDERATION_TIMEOUT)
    bob.join(room, via=[hs.server_name])

    alice.sync_until(timeline_has(room, predicate=membership_is(bob, "join")),
                     timeout=FEDERATION_TIMEOUT)
    bob.sync_until(joined_to(room), timeout=FEDERATION_TIMEOUT)


def test_a_profile_is_looked_up_on_the_other_server(hs, hs2):
    """A user's profile on one server is answered to a user of the other.

    Spec: client-server-api/#get_matrixclientv3profileuserid — a remote user's profile
    is queried from their server (server-server-api/#get_matrixfederationv1queryprofile).
    """
    alice, bob = hs.register(), hs2.register()
    name = f"Bob {secrets.token_hex(3)}"
    bob.set_displayname(name)

    profile = alice.get_profile(bob)

    assert profile.get("displayname") == name, f"{alice.user_id} saw {profile} for {bob.user_id}"


def test_a_leave_is_seen_on_both_sides(hs, hs2):
    """A user leaving a room of the other server is seen as left there and at home.

    Spec: server-server-api/#leaving-rooms-rejecting-invites — the leave goes to the
    room's servers; client-server-api/#post_matrixclientv3roomsroomidleave.
    """
    alice, bob = hs.register(), hs2.register()
    room = visit(alice, bob)
    bob.sync_until(joined_to(room), timeout=FEDERATION_TIMEOUT)  # a later sync shows the leave

    bob.leave(room)

    bob.sync_until(left(room), timeout=FEDERATION_TIMEOUT)
    alice.sync_until(timeline_has(room, predicate=membership_is(bob, "leave")),
                     timeout=FEDERATION_TIMEOUT)


def test_a_server_acl_denying_hs2_makes_hs_ignore_its_events(hs, hs2):
    """Once a room's ACL denies the second server, the first ignores its events there.

    Bob of hs2 is in two of alice's rooms; the ACL of one denies hs2. Bob writes there,
    then in the other room: when alice sees the second message, hs has received the
    first (hs2 sends in order), and it must not have reached her.

    Spec: server-server-api/#server-access-control-lists-acls — ACLs MUST be applied to
    every PDU of a transaction; a PDU from a denied server MUST be ignored;
    client-server-api/#mroomserver_acl — ports are not considered.
    """
    if host_of(hs.server_name) == host_of(hs2.server_name):
        pytest.skip(f"both servers are on host {host_of(hs.server_name)}; ACLs ignore "
                    "ports, so the second cannot be denied alone (give servers whose names "
                    "differ in host)")
    alice, bob = hs.register(), hs2.register()
    guarded, open_room = visit(alice, bob), visit(alice, bob)

    deny_server(alice, guarded, hs2.server_name)
    bob.sync_until(state_has(guarded, "m.room.server_acl"), timeout=FEDERATION_TIMEOUT)
    denied = bob.send(guarded, text("from a denied server"))
    sentinel = bob.send(open_room, text("from an allowed room"))

    alice.sync_until(without(timeline_has(open_room, sentinel), timeline_has(guarded, denied)),
                     timeout=FEDERATION_TIMEOUT)
