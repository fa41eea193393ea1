# SPDX-License-Identifier: Apache-2.0
"""Presence: users set their own, and people who share a room with them see it.

Spec: client-server-api/#presence.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, expect_ok, presence_of


def test_own_presence_can_be_set_and_read_back(hs):
    """A user sets their presence and status message, and reads them back.

    Spec: client-server-api/#put_matrixclientv3presenceuseridstatus and
    #get_matrixclientv3presenceuseridstatus — the stored presence is returned.
    """
    alice = hs.register()
    expect_ok(alice.do("PUT", ["presence", alice.user_id, "status"],
                       json={"presence": "unavailable", "status_msg": "in a meeting"}),
              "set presence")
    body = expect_ok(alice.do("GET", ["presence", alice.user_id, "status"]), "read presence")
    assert body["presence"] == "unavailable", body
    assert body.get("status_msg") == "in a meeting", body


def test_presence_of_another_user_cannot_be_set(hs):
    """Setting someone else's presence is refused.

    Spec: client-server-api/#put_matrixclientv3presenceuseridstatus — 403 when the caller
    may not change the user's presence.
    """
    alice, bob = hs.register(), hs.register()
    expect_error(alice.do("PUT", ["presence", bob.user_id, "status"],
                          json={"presence": "online"}), 403, "M_FORBIDDEN")


@pytest.mark.parametrize("value", [
    pytest.param("busy", id="not-a-presence-state"),
    pytest.param(5, id="not-a-string"),
])
def test_unknown_presence_state_is_refused(hs, value):
    """Presence is one of online, offline and unavailable.

    Spec: client-server-api/#put_matrixclientv3presenceuseridstatus — `presence` is an
    enum; anything else is a malformed body (400). The spec names no errcode for this
    case, so only the status is checked.
    """
    alice = hs.register()
    expect_error(alice.do("PUT", ["presence", alice.user_id, "status"],
                          json={"presence": value}), 400)


def test_room_mate_sees_presence_in_sync(hs):
    """A user who shares a room sees the other's presence change in /sync.

    Spec: client-server-api/#presence — presence is shared with users who share a room
    (the `presence` section of /sync).
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    alice.sync_until(lambda body: None)  # start alice's incremental position
    expect_ok(bob.do("PUT", ["presence", bob.user_id, "status"], json={"presence": "online"}),
              "set presence")
    alice.sync_until(presence_of(bob.user_id, "online"))
