# SPDX-License-Identifier: Apache-2.0
"""Invites across servers: what a client hears when the invitee's server will not
countersign, and which invite state an invited server accepts.

Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — 400
M_UNSUPPORTED_ROOM_VERSION when the invitee's server does not support the room's
version; server-server-api/#put_matrixfederationv2inviteroomideventid — that server
answers 400 M_INCOMPATIBLE_ROOM_VERSION, which should reach the client.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import trio

from reference_server import errors
from reference_server.errors import MatrixError
from reference_server.federation.client import FederationError
from reference_server.protocol.event_ids import room_id_for_create_event
from reference_server.protocol.room_versions import room_version
from reference_server.services.federated_invites import FederatedInvites, _invite_refused, \
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



@pytest.mark.parametrize(("room_known", "expected"), [
    pytest.param(True, (403, "M_FORBIDDEN"), id="room-whose-acl-we-hold"),
    pytest.param(False, (400, "M_INVALID_PARAM"), id="room-unknown-here"),
])
def test_an_invite_from_a_server_the_rooms_acl_denies_is_refused(room_known, expected) -> None:
    """Spec: server-server-api/#server-access-control-lists-acls — invites MUST be protected.

    The ACL is consulted first, for a room whose state this server holds; for a room it
    does not know, the (here malformed) invite itself is what is refused.
    """
    def deny(origin, room_id):
        raise errors.forbidden(f"{origin} is denied by this room's server ACL.")

    invites = FederatedInvites(
        db=None, rooms=SimpleNamespace(version=lambda room_id: "12" if room_known else None),
        room_events=None, client=None, checker=None, server_name="here.example",
        signing_key=None, invite_room_state=None, check_acl=deny)
    body = {"room_version": "12", "event": {"type": "m.room.message", "content": {}}}
    with pytest.raises(MatrixError) as raised:
        trio.run(invites.receive_invite, "there.example", "!room:there.example", "$e", body)
    assert (raised.value.status, raised.value.errcode) == expected
