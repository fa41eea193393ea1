# SPDX-License-Identifier: Apache-2.0
"""Every stable room version works end to end: create, join, power, kick, ban, unban, talk.

Room versions change event formats, redaction and authorization rules; a server that
lists a version as available in /capabilities must run rooms of that version under that
version's rules. These scenarios run once per room version the target advertises.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_one_error
from tests.harness.checks import expect_error, joined_to, timeline_has

ROOM_VERSIONS = [str(v) for v in range(1, 13)]


def _require_version(hs, version: str) -> None:
    """Only versions the target says it supports are tested (the spec lets servers choose)."""
    caps = hs.register().do("GET", ["capabilities"]).json()["capabilities"]
    available = caps.get("m.room_versions", {}).get("available", {})
    if version not in available:
        pytest.skip(f"the target does not offer room version {version} in /capabilities")


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_room_lifecycle_in_each_room_version(hs, version):
    """A room of each version supports joins, power changes, kicks, bans and unbans.

    Spec: rooms/v1 … rooms/v12 — the authorization rules of each version. Kicking needs
    the kick level, a banned user's join MUST be rejected until an unban, and a user
    granted power can then act with it.
    """
    _require_version(hs, version)
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version=version, preset="public_chat")
    assert alice.get_state(room, "m.room.create").get("room_version", "1") == version

    bob.join(room)
    message = bob.send(room, {"msgtype": "m.text", "body": f"hello in v{version}"})
    alice.sync_until(timeline_has(room, message))

    power = alice.get_state(room, "m.room.power_levels")
    power.setdefault("users", {})[bob.user_id] = 50
    alice.send_state(room, "m.room.power_levels", power)
    assert alice.get_state(room, "m.room.power_levels")["users"][bob.user_id] == 50

    carol = hs.register()
    carol.join(room)
    bob.kick(room, carol, reason="testing kicks")
    assert bob.get_state(room, "m.room.member", carol.user_id)["membership"] == "leave"

    alice.ban(room, carol)
    # The join endpoints' 403 asks only for "a meaningful errcode"; both are in use.
    expect_one_error(carol.do("POST", ["rooms", room, "join"], json={}),
                     (403, "M_FORBIDDEN"), (403, "M_BAD_STATE"))
    alice.unban(room, carol)
    carol.join(room)
    carol.sync_until(joined_to(room))


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_member_without_power_cannot_kick(hs, version):
    """An ordinary member (power 0) cannot kick another member in any room version.

    Spec: rooms/v1 … v12 authorization rules, `m.room.member` with membership `leave`
    for another user — the sender's power level MUST be at least the `kick` level.
    """
    _require_version(hs, version)
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(room_version=version, preset="public_chat")
    bob.join(room)
    carol.join(room)
    expect_error(bob.do("POST", ["rooms", room, "kick"], json={"user_id": carol.user_id}),
                 403, "M_FORBIDDEN")
    assert alice.get_state(room, "m.room.member", carol.user_id)["membership"] == "join"


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_power_levels_change_refused_above_own_level(hs, version):
    """A user may not grant anyone a power level above their own.

    Spec: rooms/v1 … v12 authorization rules for `m.room.power_levels` — any user whose
    level changes, old or new value, MUST NOT be above the sender's level.
    """
    _require_version(hs, version)
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version=version, preset="public_chat")
    bob.join(room)
    power = alice.get_state(room, "m.room.power_levels")
    power.setdefault("users", {})[bob.user_id] = 50
    power["state_default"] = 50
    power.setdefault("events", {})["m.room.power_levels"] = 50
    alice.send_state(room, "m.room.power_levels", power)
    power = alice.get_state(room, "m.room.power_levels")
    power["users"][bob.user_id] = 75
    expect_error(bob.do("PUT", ["rooms", room, "state", "m.room.power_levels", ""], json=power),
                 403, "M_FORBIDDEN")
