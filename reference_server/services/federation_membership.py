# SPDX-License-Identifier: Apache-2.0
"""The resident side of remote membership: templates (make_*) and accepting signed events
(send_*) for joins, leaves and knocks, per the server-server API."""
from __future__ import annotations

from .. import errors
from ..federation.pdu_checks import PduRejected
from ..protocol.auth_rules import AuthError
from ..protocol.event_ids import compute_event_id
from ..protocol.events import server_of
from ..protocol.room_versions import RoomVersion
from ..types import EventId, JsonDict, RoomId, UserId
from .events import NewEvent, RoomEvents
from .remote_events import RemoteEvents

_TEMPLATE_DROP = ("hashes", "signatures", "unsigned")


class FederatedMembership:
    def __init__(self, *, room_events: RoomEvents, remote: RemoteEvents, server_name: str,
                 signing_key, check_acl, auth_chain) -> None:
        self._check_acl = check_acl
        self._auth_chain = auth_chain
        self._events = room_events
        self._remote = remote
        self.server_name = server_name
        self._key = signing_key

    def make(self, origin: str, room_id: RoomId, user_id: UserId, membership: str,
             supported_versions: list[str]) -> JsonDict:
        """An unsigned membership event template the remote server will sign and send back."""
        version = self._resident_room(room_id)
        self._check_acl(origin, room_id)
        if version.identifier not in supported_versions:
            raise errors.MatrixError(400, "M_INCOMPATIBLE_ROOM_VERSION",
                                     f"This room is version {version.identifier}.",
                                     room_version=version.identifier)
        _require_origin(origin, user_id)
        current = self._events.state.current_state(room_id)
        prev = self._events.events.forward_extremities(room_id)
        new = NewEvent(user_id, "m.room.member", {"membership": membership}, state_key=user_id)
        try:
            _, pdu = self._events.build(room_id, version, new, current, prev,
                                        origin=server_of(user_id))
        except errors.MatrixError as error:
            raise errors.forbidden(f"You may not {membership} this room: {error.message}")
        template = {k: v for k, v in pdu.items() if k not in _TEMPLATE_DROP}
        if version.event_id_in_pdu:
            template.pop("event_id", None)
        return {"event": template, "room_version": version.identifier}

    async def accept(self, origin: str, room_id: RoomId, event_id: EventId, pdu: JsonDict,
                     membership: str) -> tuple[JsonDict, list[JsonDict], list[JsonDict]]:
        """Check and store a signed membership event; returns (event, state, auth chain)."""
        version = self._resident_room(room_id)
        self._check_acl(origin, room_id)
        # Spec (send_join/send_leave): these failures SHOULD be M_INVALID_PARAM.
        if pdu.get("type") != "m.room.member" or \
                pdu.get("content", {}).get("membership") != membership:
            raise errors.invalid_param(
                f"Expected an m.room.member event with membership {membership}.")
        sender = pdu.get("sender", "")
        if pdu.get("state_key") != sender:
            raise errors.invalid_param("The state_key must be the sender.")
        if server_of(sender) != origin:
            raise errors.invalid_param(f"{sender} is not a user of {origin}.")
        if compute_event_id(pdu, version) != event_id:
            raise errors.bad_json("The event ID in the path does not match the event.")
        try:
            await self._remote.check_signatures(room_id, pdu)
        except PduRejected as error:
            raise errors.invalid_param(f"The event's signatures do not hold: {error}") from None
        try:
            stored = await self._remote.receive(room_id, pdu)
        except (PduRejected, AuthError) as error:
            raise errors.forbidden(f"The event was rejected: {error}") from None
        state = self._events.state_before(stored)
        state_pdus = [self._events.events.get(e).pdu for e in state.values()]
        # The auth chain covers the new event's own auth events as well as the state's.
        return stored.pdu, state_pdus, self._auth_chain([*state_pdus, stored.pdu])


    def room_version_of(self, room_id: RoomId) -> str:
        return self._resident_room(room_id).identifier

    def servers_in_room(self, room_id: RoomId) -> list[str]:
        return sorted(self._events.state.servers_in_room(room_id))

    def _resident_room(self, room_id: RoomId) -> RoomVersion:
        version = self._events.version(room_id)
        if self.server_name not in self._events.state.servers_in_room(room_id):
            raise errors.not_found("This server is not in that room.")
        return version


def _require_origin(origin: str, user_id: str) -> None:
    if server_of(user_id) != origin:
        raise errors.forbidden(f"{origin} may not act for {user_id}.")
