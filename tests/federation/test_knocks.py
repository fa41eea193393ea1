# SPDX-License-Identifier: Apache-2.0
"""A remote user knocks on a room the target hosts: make_knock, then send_knock.

Spec: server-server-api/#knocking-upon-a-room — the resident server answers make_knock
with a template for rooms whose join rule allows knocking (room versions 7 and later),
and send_knock with the room's state for the knocking user to see.
"""
from __future__ import annotations

import time

from tests.harness.assertions import expect_one_error
from tests.harness.crypto import compute_event_id, sign_event

KNOCK_RULE = [{"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}]


def _knock_template(federation, room_id: str, user_id: str) -> dict:
    answer = federation.do("GET", ["make_knock", room_id, user_id], params={"ver": ["12"]})
    assert answer.status_code == 200, f"make_knock answered {answer.status_code} {answer.text}"
    return answer.json()


def test_peer_user_knocks_and_a_member_sees_it(hs, federation):
    """A knock sent over federation lands in the room as a `knock` membership.

    Spec: server-server-api/#put_matrixfederationv1send_knockroomideventid — the resident
    server accepts a signed knock and returns `knock_room_state`, which since v1.16 includes
    the room's create event.
    """
    alice = hs.register()
    room = alice.create_room(room_version="12", initial_state=KNOCK_RULE)
    knocker = federation.peer.user_id("knocker")
    template = _knock_template(federation, room, knocker)
    assert template["room_version"] == "12"
    event = dict(template["event"])
    assert event["content"]["membership"] == "knock"
    event.update(origin=federation.origin, origin_server_ts=int(time.time() * 1000))
    event = sign_event(event, federation.origin, federation.key, "12")
    event_id = compute_event_id(event, "12")
    answer = federation.do("PUT", ["send_knock", room, event_id], json=event)
    assert answer.status_code == 200, f"send_knock answered {answer.status_code} {answer.text}"
    types = {e.get("type") for e in answer.json()["knock_room_state"]}
    assert "m.room.create" in types, f"knock_room_state lacks the create event: {types}"
    # send_knock answers once the knock is part of the room.
    assert alice.get_state(room, "m.room.member", knocker)["membership"] == "knock"


def test_make_knock_refused_where_the_join_rule_does_not_allow_knocking(hs, federation):
    """make_knock for a public (non-knock) room is refused.

    Spec: server-server-api/#get_matrixfederationv1make_knockroomiduserid — 403 when the
    knocking user may not knock on the room.
    """
    alice = hs.register()
    room = alice.create_room(room_version="12", preset="public_chat")
    answer = federation.do("GET", ["make_knock", room, federation.peer.user_id("k")],
                           params={"ver": ["12"]})
    expect_one_error(answer, (403, "M_FORBIDDEN"))
