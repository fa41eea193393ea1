# SPDX-License-Identifier: Apache-2.0
"""Authorising a received PDU against its own auth events, in every room version.

Spec: server-server-api/#checks-performed-on-receipt-of-a-pdu — step 4, the auth rules
against the event's auth events; rooms/v12 — the create event is never listed among
them, the room ID names it, and the rules still need it.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from reference_server.federation.pdu_checks import PduRejected
from reference_server.protocol.event_ids import compute_event_id
from reference_server.services.remote_events import RemoteEvents
from unittests.protocol.roomkit import BOB, Room, versions


class _Stored:
    """Just enough of RoomEvents for the auth-events check: events by ID."""

    def __init__(self, room: Room) -> None:
        self.events = SimpleNamespace(get=lambda event_id: SimpleNamespace(
            pdu=room.events[event_id]) if event_id in room.events else None)


def _join_of_bob(room: Room) -> dict:
    """BOB's join, listing the auth events selection picks (v12: no create event)."""
    wanted = [("m.room.power_levels", ""), ("m.room.join_rules", "")]
    if not room.version.auth_events_exclude_create:
        wanted.append(("m.room.create", ""))
    event = room.member(BOB, "join")
    event["auth_events"] = [compute_event_id(room.state[key], room.version) for key in wanted]
    return event


@pytest.mark.parametrize("identifier", versions(unless="event_id_in_pdu"))
def test_a_join_to_a_public_room_passes_its_auth_events(identifier) -> None:
    room = Room(identifier, join_rule="public")
    remote = RemoteEvents(room_events=_Stored(room), checker=None)
    remote._check_against_auth_events(_join_of_bob(room), room.version)


@pytest.mark.parametrize("identifier", versions(unless="event_id_in_pdu"))
def test_a_join_to_an_invite_only_room_fails_its_auth_events(identifier) -> None:
    room = Room(identifier, join_rule="invite")
    remote = RemoteEvents(room_events=_Stored(room), checker=None)
    with pytest.raises(PduRejected, match="not allowed by its auth events"):
        remote._check_against_auth_events(_join_of_bob(room), room.version)
