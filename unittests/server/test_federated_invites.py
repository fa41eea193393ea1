# SPDX-License-Identifier: Apache-2.0
"""Invites across servers: what a client hears when the invitee's server will not
countersign, and which invite state an invited server accepts.

Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — 400
M_UNSUPPORTED_ROOM_VERSION when the invitee's server does not support the room's
version; server-server-api/#put_matrixfederationv2inviteroomideventid — that server
answers 400 M_INCOMPATIBLE_ROOM_VERSION, which should reach the client.
"""
from __future__ import annotations

import pytest
import trio

from reference_server.errors import MatrixError
from reference_server.federation.client import FederationError
from reference_server.protocol.event_ids import room_id_for_create_event
from reference_server.protocol.room_versions import room_version
from reference_server.services.federated_invites import _invite_refused, \
    check_invite_room_state


@pytest.mark.parametrize(("status", "body", "expected"), [
    pytest.param(400, {"errcode": "M_INCOMPATIBLE_ROOM_VERSION", "room_version": "12"},
                 (400, "M_UNSUPPORTED_ROOM_VERSION"), id="room-version-unsupported"),
    pytest.param(403, {"errcode": "M_FORBIDDEN"}, (403, "M_FORBIDDEN"), id="declined"),
    pytest.param(None, None, (403, "M_FORBIDDEN"), id="unreachable"),
])
def test_the_invitees_refusal_becomes_the_clients_error(status, body, expected) -> None:
    error = _invite_refused("there.example", FederationError("no", status=status, body=body))
    assert (error.status, error.errcode) == expected


class _AcceptingChecker:
    """Passes every event (format, signatures and hashes are the PduChecker's own tests)."""

    async def check(self, pdu, version):
        return "$id", pdu


def _state_problem(state) -> tuple[int, str] | None:
    """What `check_invite_room_state` says about `state` for a v12 room (None: fine)."""
    version = room_version("12")
    create = {"type": "m.room.create", "state_key": "", "sender": "@a:there.example",
              "content": {"room_version": "12"}, "depth": 1, "prev_events": [],
              "auth_events": [], "origin_server_ts": 1}
    room_id = room_id_for_create_event(create, version)
    entries = [create if e == "create" else {**e, "room_id": e.get("room_id", room_id)}
               for e in state]
    try:
        trio.run(check_invite_room_state, _AcceptingChecker(), room_id, entries, version)
    except MatrixError as error:
        return error.status, error.errcode
    return None


_JOIN_RULES = {"type": "m.room.join_rules", "state_key": "", "content": {}}


@pytest.mark.parametrize(("state", "expected"), [
    pytest.param(["create", _JOIN_RULES], None, id="create-and-room-events"),
    pytest.param([], (400, "M_MISSING_PARAM"), id="no-state"),
    pytest.param([_JOIN_RULES], (400, "M_MISSING_PARAM"), id="no-create-event"),
    pytest.param(["create", {**_JOIN_RULES, "room_id": "!other:there.example"}],
                 (400, "M_INVALID_PARAM"), id="event-of-another-room"),
])
def test_v12_invite_room_state_must_hold_the_rooms_create_event(state, expected) -> None:
    assert _state_problem(state) == expected
