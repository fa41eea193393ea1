# SPDX-License-Identifier: Apache-2.0
"""Invites across servers (server-server, inviting to a room), in both directions.

Outbound: the inviting server builds and signs the invite, the invitee's server counter-
signs it, and only then is it stored and sent to the room. Inbound: we check an invite
for one of our users, counter-sign it, and keep it with its stripped state so the user
sees it in /sync; the room itself is not joined until the user accepts.
"""
from __future__ import annotations

from urllib.parse import quote

from .. import errors
from ..federation.client import FederationClient, FederationError
from ..federation.pdu_checks import PduChecker, PduRejected
from ..protocol.event_ids import compute_event_id, room_id_for_create_event
from ..protocol.events import server_of
from ..protocol.room_versions import room_version
from ..protocol.signing import sign_json
from ..protocol.redaction import redact
from ..storage.database import Database
from ..storage.rooms import RoomStore
from ..types import EventId, JsonDict, RoomId, UserId
from .events import NewEvent, RoomEvents


V1_ASSUMED_VERSION = "1"


class FederatedInvites:
    def __init__(self, *, db: Database, rooms: RoomStore, room_events: RoomEvents,
                 client: FederationClient, checker: PduChecker, server_name: str,
                 signing_key, invite_room_state, check_acl, is_resident=None,
                 receive=None) -> None:
        self._is_resident = is_resident
        self._receive = receive
        self._db = db
        self._rooms = rooms
        self._events = room_events
        self._client = client
        self._checker = checker
        self._server_name = server_name
        self._key = signing_key
        self._invite_room_state = invite_room_state
        self._check_acl = check_acl

    async def invite_remote(self, sender: UserId, room_id: RoomId, target: UserId,
                            content: JsonDict) -> EventId:
        version = self._events.version(room_id)
        current = self._events.state.current_state(room_id)
        prev = self._events.events.forward_extremities(room_id)
        event_id, pdu = self._events.build(room_id, version, NewEvent(
            sender, "m.room.member", content, state_key=target), current, prev)
        server = server_of(target)
        body = {"room_version": version.identifier, "event": pdu,
                "invite_room_state": self._invite_room_state(room_id)}
        try:
            answer = await self._client.request(
                "PUT", server, f"/_matrix/federation/v2/invite/{quote(room_id, safe='')}/"
                f"{quote(event_id, safe='')}", body=body)
        except FederationError as error:
            raise _invite_refused(server, error) from None
        signed = answer.get("event") if isinstance(answer, dict) else None
        if not isinstance(signed, dict):
            raise errors.MatrixError(502, "M_UNKNOWN", f"{server} sent back no invite event.")
        try:
            await self._checker.check_signatures(signed, version)
        except PduRejected as error:
            raise errors.MatrixError(502, "M_UNKNOWN", f"Bad counter-signed invite: {error}")
        return self._events.persist(room_id, event_id, signed).event_id

    async def receive_invite(self, origin: str, room_id: RoomId, event_id: EventId,
                             body: JsonDict) -> JsonDict:
        version = room_version(str(body.get("room_version")))
        if version is None:
            raise errors.MatrixError(400, "M_INCOMPATIBLE_ROOM_VERSION",
                                     "This server does not support that room version.",
                                     room_version=str(body.get("room_version")))
        if self._rooms.version(room_id) is not None:
            # Spec (server ACLs): invites are protected in rooms whose state we hold.
            self._check_acl(origin, room_id)
        event = body["event"]
        target = event.get("state_key", "")
        if event.get("type") != "m.room.member" or \
                event.get("content", {}).get("membership") != "invite":
            raise errors.invalid_param("Expected an m.room.member invite event.")
        # Spec: these checks SHOULD answer M_INVALID_PARAM (server-server, PUT /v2/invite).
        if not target.endswith(":" + self._server_name):
            raise errors.invalid_param("The invitee is not a user of this server.")
        if not str(event.get("sender", "")).endswith(":" + origin):
            raise errors.invalid_param(f"{origin} may not send invites for {event.get('sender')}.")
        if compute_event_id(event, version) != event_id:
            raise errors.bad_json("The event ID in the path does not match the event.")
        try:
            await self._checker.check_signatures(event, version)
        except PduRejected as error:
            raise errors.invalid_param(f"The invite is not properly signed: {error}") from None
        if version.room_id_from_create_event:
            await check_invite_room_state(self._checker, room_id,
                                          body.get("invite_room_state"), version)
        signed = self._countersign(event, version)
        if self._is_resident is not None and self._is_resident(room_id) \
                and self._receive is not None:
            # We are in the room: the invite takes its place in our copy of the DAG, so
            # the invitee's later join builds on it (an outlier would be invisible there).
            try:
                await self._receive(room_id, signed)
                return {"event": signed}
            except PduRejected:
                pass  # fall back to keeping it aside, as for rooms we are not in
        stripped = body.get("invite_room_state") or []
        self._events.record_remote_membership(room_id, version.identifier, event_id, {
            **signed, "unsigned": {**signed.get("unsigned", {}), "invite_room_state": stripped}})
        return {"event": signed}

    async def receive_invite_v1(self, origin: str, room_id: RoomId, event_id: EventId,
                                event: JsonDict) -> JsonDict:
        """The deprecated PUT /v1/invite: the body is the event itself, its room state in
        `unsigned`, and no room version — rooms of versions 1 and 2 only, whose events
        share one format, so version 1 is assumed unless the room is known here."""
        unsigned = event.get("unsigned") if isinstance(event.get("unsigned"), dict) else {}
        body = {"room_version": self._rooms.version(room_id) or V1_ASSUMED_VERSION,
                "event": event, "invite_room_state": unsigned.get("invite_room_state") or []}
        return await self.receive_invite(origin, room_id, event_id, body)

    def _countersign(self, event: JsonDict, version) -> JsonDict:
        ours = sign_json(redact(event, version), server_name=self._server_name, key=self._key)
        signed = dict(event)
        signatures = {k: dict(v) for k, v in event.get("signatures", {}).items()}
        signatures.setdefault(self._server_name, {}).update(ours["signatures"][self._server_name])
        signed["signatures"] = signatures
        return signed


async def check_invite_room_state(checker: PduChecker, room_id: RoomId,
                                  state: list[JsonDict] | None, version) -> None:
    """Spec (PUT /v2/invite, v1.16): the invite state must hold the room's create event
    and only events of the room in its version's format that verify. Servers SHOULD
    enforce this from room version 12 (M_MISSING_PARAM / M_INVALID_PARAM)."""
    if not state:
        raise errors.missing_param("The invite carries no invite_room_state.")
    if not any(e.get("type") == "m.room.create" and e.get("state_key") == "" for e in state):
        raise errors.missing_param("The invite_room_state lacks the m.room.create event.")
    for entry in state:
        try:
            _, checked = await checker.check(entry, version)
        except PduRejected as error:
            raise errors.invalid_param(f"An invite_room_state event is invalid: {error}")
        entry_room = room_id_for_create_event(checked, version) \
            if checked.get("type") == "m.room.create" else checked.get("room_id")
        if entry_room != room_id:
            raise errors.invalid_param("An invite_room_state event is of another room.")


def _invite_refused(server: str, error: FederationError) -> errors.MatrixError:
    """The client's error when the invitee's server would not countersign (client-server,
    inviting: 400 M_UNSUPPORTED_ROOM_VERSION when it lacks the room's version)."""
    body = error.body if isinstance(error.body, dict) else {}
    if error.status == 400 and body.get("errcode") == "M_INCOMPATIBLE_ROOM_VERSION":
        return errors.MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION",
                                  f"{server} does not support this room's version.")
    return errors.forbidden(f"{server} refused the invite: {error}")
