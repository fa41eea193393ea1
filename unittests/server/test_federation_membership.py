# SPDX-License-Identifier: Apache-2.0
"""The resident's side of send_join/send_leave: which events it refuses, and the auth
chain it answers.

Spec: server-server-api/#put_matrixfederationv2send_joinroomideventid — the resident
MUST refuse a join that fails the signature check, is not an `m.room.member` join,
whose sender is not on the origin or whose `state_key` is not the sender, and SHOULD say
`M_INVALID_PARAM`; `auth_chain` covers the join's own auth events as well as the state's.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import trio

from reference_server.errors import MatrixError
from reference_server.federation.pdu_checks import PduRejected
from reference_server.protocol.event_ids import compute_event_id
from reference_server.services.federation_membership import FederatedMembership
from unittests.protocol.roomkit import BOB, Room

ORIGIN = BOB.split(":", 1)[1]
RESIDENT = "a.test"


class _Remote:
    """Accepts every event as stored, unless told its signatures do not hold."""

    def __init__(self, *, signed: bool = True) -> None:
        self.signed = signed

    async def check_signatures(self, room_id, pdu) -> None:
        if not self.signed:
            raise PduRejected("the event lacks a valid signature")

    async def receive(self, room_id, pdu):
        return SimpleNamespace(pdu=pdu)


def _membership(room: Room, remote: _Remote, chains: list) -> FederatedMembership:
    state_ids = {key: compute_event_id(event, room.version) for key, event in room.state.items()}
    room_events = SimpleNamespace(
        version=lambda room_id: room.version,
        state=SimpleNamespace(joined_members=lambda room_id: [f"@creator:{RESIDENT}"],
                              servers_in_room=lambda room_id: {RESIDENT}),
        state_before=lambda stored: state_ids,
        events=SimpleNamespace(get=lambda event_id: SimpleNamespace(pdu=room.events[event_id])),
    )

    def auth_chain(pdus):
        chains.append(pdus)
        return []

    return FederatedMembership(room_events=room_events, remote=remote, server_name=RESIDENT,
                               signing_key=None, check_acl=lambda origin, room_id: None,
                               auth_chain=auth_chain)


def _accept(room: Room, event: dict, *, remote: _Remote | None = None, chains=None):
    membership = _membership(room, remote or _Remote(), [] if chains is None else chains)
    return trio.run(membership.accept, ORIGIN, room.room_id,
                    compute_event_id(event, room.version), event, "join")


def test_the_auth_chain_covers_the_join_itself() -> None:
    room = Room("12", join_rule="public")
    join, chains = room.member(BOB, "join"), []
    _accept(room, join, chains=chains)
    assert join in chains[0], "the join's own auth events must be in the auth chain"


@pytest.mark.parametrize("event, remote", [
    pytest.param(dict(type="m.room.member", content={"membership": "leave"}), _Remote(),
                 id="not-a-join"),
    pytest.param(dict(state_key="@carol:b.test"), _Remote(), id="state-key-not-sender"),
    pytest.param(dict(sender="@mallory:c.test", state_key="@mallory:c.test"), _Remote(),
                 id="sender-not-on-origin"),
    pytest.param({}, _Remote(signed=False), id="bad-signature"),
])
def test_events_that_are_not_the_origins_join_are_invalid_params(event, remote) -> None:
    room = Room("12", join_rule="public")
    with pytest.raises(MatrixError) as raised:
        _accept(room, {**room.member(BOB, "join"), **event}, remote=remote)
    assert (raised.value.status, raised.value.errcode) == (400, "M_INVALID_PARAM")
