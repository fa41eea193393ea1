# SPDX-License-Identifier: Apache-2.0
"""Presence across servers: m.presence EDUs in both directions.

In each test a peer user `bob` has joined a local user's room, so the two servers share
a room and each is interested in the other's users' presence.

Spec: server-server-api/#presence; client-server-api/#presence.
"""
from __future__ import annotations

from tests.harness.assertions import expect_ok
from tests.harness.checks import presence_of, without
from tests.harness.federation_scenes import peer_in_room


def _presence_edu(*updates: dict) -> dict:
    return {"edu_type": "m.presence", "content": {"push": list(updates)}}


def _update(user_id: str, presence: str, **extra) -> dict:
    return {"user_id": user_id, "presence": presence, "last_active_ago": 5000, **extra}


def test_a_peer_users_presence_reaches_local_room_mates(hs, fake_homeserver):
    """A presence EDU for a peer user shows in local room-mates' /sync and status.

    Spec: server-server-api/#presence — presence is exchanged as m.presence EDUs of the
    sending server's users; client-server-api/#presence — users sharing a room see
    each other's presence in /sync and through GET /presence/{userId}/status.
    """
    scene = peer_in_room(hs, fake_homeserver)
    update = _update(scene.bob, "online", status_msg="at the helm", currently_active=True)

    scene.federation.send_transaction(edus=[_presence_edu(update)])

    scene.alice.sync_until(presence_of(scene.bob, "online", "at the helm"))
    status = expect_ok(scene.alice.do("GET", ["presence", scene.bob, "status"]),
                       "read the peer user's presence")
    assert (status["presence"], status.get("status_msg")) == ("online", "at the helm"), status


def test_presence_for_a_user_of_another_server_is_ignored(hs, fake_homeserver):
    """A peer cannot set the presence of a user who is not its own.

    Spec: server-server-api/#presence — m.presence EDUs carry presence updates for
    users of the sending homeserver; updates about anyone else are not to be believed.
    The spoofed update is followed by a genuine one, and only the latter may show.
    """
    scene = peer_in_room(hs, fake_homeserver)
    spoofed = _update(scene.alice.user_id, "unavailable", status_msg="spoofed")

    scene.federation.send_transaction(edus=[_presence_edu(spoofed)])
    scene.federation.send_transaction(edus=[_presence_edu(_update(scene.bob, "online"))])

    scene.alice.sync_until(without(presence_of(scene.bob, "online"),
                                   presence_of(scene.alice, "unavailable")))
    status = scene.alice.do("GET", ["presence", scene.alice.user_id, "status"])
    assert status.status_code == 404 or status.json().get("status_msg") != "spoofed", \
        status.text


def test_a_local_users_presence_reaches_the_peer(hs, fake_homeserver):
    """A local user's presence change is sent to the peer sharing a room with them.

    Spec: server-server-api/#presence — servers send presence updates (m.presence EDUs,
    each with `user_id`, `presence` and `last_active_ago`) to the servers interested in
    the user, such as those sharing a room with them.
    """
    edus: list = []
    scene = peer_in_room(hs, fake_homeserver, on_edu=edus.append)

    expect_ok(scene.alice.do("PUT", ["presence", scene.alice.user_id, "status"],
                             json={"presence": "online", "status_msg": "on watch"}),
              "set presence")

    def sent():
        return next((u for e in edus if e.get("edu_type") == "m.presence"
                     for u in e["content"].get("push", [])
                     if u.get("user_id") == scene.alice.user_id), None)

    update = scene.peer.wait_until(sent, what=f"an m.presence EDU for {scene.alice.user_id}")
    assert update["presence"] == "online" and update.get("status_msg") == "on watch", update
    assert isinstance(update["last_active_ago"], int), update
