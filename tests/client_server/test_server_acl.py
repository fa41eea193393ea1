# SPDX-License-Identifier: Apache-2.0
"""Server access control lists: the `m.room.server_acl` state event, seen from clients.

Spec: client-server-api/#server-access-control-lists-acls-for-rooms and the
`m.room.server_acl` event. ACLs act on federation requests; a client sends and reads the
event like any state event, and a server the ACL allows keeps serving its users.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import body_of
from tests.harness.checks import expect_error, state_has, timeline_has

VALID_ACLS = [
    pytest.param({"allow": ["*"]}, id="allow-everyone"),
    pytest.param({"allow": ["*"], "deny": ["evil.example.org", "*.evil.example.org"],
                  "allow_ip_literals": True}, id="deny-some-servers"),
    pytest.param({"allow": ["*"], "deny": ["bad?.example.org", "*.spam.example.*"]},
                 id="glob-patterns"),
    pytest.param({"allow": ["*"], "deny": [], "allow_ip_literals": True}, id="empty-deny"),
]


@pytest.mark.parametrize("content", VALID_ACLS)
def test_valid_acl_is_stored_and_readable(hs, content):
    """A well-formed m.room.server_acl is accepted and reads back exactly as sent.

    Spec: client-server-api/#mroomserver_acl — `allow` and `deny` are lists of glob
    strings and `allow_ip_literals` a boolean;
    client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey stores the
    content, which GET returns.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    alice.send_state(room, "m.room.server_acl", content)
    assert alice.get_state(room, "m.room.server_acl") == content


def test_member_receives_the_acl_in_sync(hs):
    """Members of the room see a new server ACL as room state through /sync.

    Spec: client-server-api/#mroomserver_acl — a state event of the room;
    client-server-api/#get_matrixclientv3sync delivers state changes to members.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    acl = {"allow": ["*"], "deny": ["evil.example.org"], "allow_ip_literals": True}
    event_id = alice.send_state(room, "m.room.server_acl", acl)
    bob.sync_until(timeline_has(room, event_id),
                   state_has(room, "m.room.server_acl", predicate=lambda e: e["content"] == acl))


def test_member_without_power_cannot_set_the_acl(hs):
    """Setting the server ACL needs the power level its event type requires.

    Spec: rooms/v1 … v12 authorization rules — a state event whose required power level
    is above the sender's is rejected; the state endpoint answers 403.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat", power_level_content_override={
        "events": {"m.room.server_acl": 100, "m.room.power_levels": 100}})
    bob.join(room)
    response = bob.do("PUT", ["rooms", room, "state", "m.room.server_acl", ""],
                      json={"allow": ["*"], "deny": ["evil.example.org"]})
    expect_error(response, 403, "M_FORBIDDEN")
    missing = alice.do("GET", ["rooms", room, "state", "m.room.server_acl", ""])
    expect_error(missing, 404)


def test_users_of_an_allowed_server_keep_participating(hs):
    """An ACL that allows the local server but denies others leaves local users unaffected.

    Spec: client-server-api/#server-access-control-lists-acls-for-rooms — ACLs keep denied
    servers out at the federation layer; a server the ACL allows is not restricted, so
    its users can still join and send.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    alice.send_state(room, "m.room.server_acl", {
        "allow": ["*"], "deny": ["evil.example.org"], "allow_ip_literals": True})
    bob.join(room)
    event_id = bob.send(room, {"msgtype": "m.text", "body": "still welcome"})
    alice.sync_until(timeline_has(room, event_id))


def test_acl_can_be_replaced(hs):
    """Sending a new m.room.server_acl replaces the previous one in the room state.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey — state
    events with the same type and state key overwrite each other.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    alice.send_state(room, "m.room.server_acl", {"allow": ["*"], "deny": ["one.example.org"]})
    second = {"allow": ["*"], "deny": ["two.example.org"]}
    alice.send_state(room, "m.room.server_acl", second)
    assert alice.get_state(room, "m.room.server_acl") == second


MALFORMED_ACLS = [
    pytest.param({"allow": ["*"], "allow_ip_literals": "no"}, id="ip-literals-not-boolean"),
    pytest.param({"allow": ["*"], "deny": "evil.example.org"}, id="deny-not-a-list"),
    pytest.param({"allow": ["*"], "deny": [42]}, id="deny-entry-not-a-string"),
    pytest.param({"allow": "*"}, id="allow-not-a-list"),
]


@pytest.mark.parametrize("content", MALFORMED_ACLS)
def test_malformed_acl_is_refused_or_stored_verbatim(hs, content):
    """A malformed ACL is either refused with 400 or stored exactly as sent.

    Spec: client-server-api/#mroomserver_acl — the event schema wants lists of strings and
    a boolean, but the spec tells readers how to treat bad values (a non-boolean
    `allow_ip_literals` counts as true) and does not require senders to refuse them. So
    both answers conform: a 400 refusal, or acceptance with the content kept unchanged
    (a server must not rewrite an event's content). A 403, a 500 or a rewritten event do
    not.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    response = alice.do("PUT", ["rooms", room, "state", "m.room.server_acl", ""], json=content)
    if response.status_code == 400:
        body = body_of(response)
        assert isinstance(body, dict) and isinstance(body.get("errcode"), str), (
            f"a 400 refusal must be a standard error with an errcode: {response.text}")
    else:
        assert response.status_code == 200, (
            f"the spec allows 400 or 200; the server answered "
            f"{response.status_code} {response.text}")
        assert alice.get_state(room, "m.room.server_acl") == content
