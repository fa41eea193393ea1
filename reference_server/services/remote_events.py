# SPDX-License-Identifier: Apache-2.0
"""Events from other servers: authorising them and placing them in the room's DAG.

After `PduChecker` (format, signatures, hashes), an event must pass the authorization
rules three times (server-server, checks performed on receipt of a PDU): against its own
auth events and against the state before it — failing either rejects it. (The third check, against current
state with soft-failing, is not done yet: such an event is accepted today.) Forks are
merged with the room version's state resolution.
"""
from __future__ import annotations

from .. import errors
from ..federation.pdu_checks import PduChecker, PduRejected
from ..protocol.auth_rules import AuthError, auth_types_for_event, check_auth, check_auth_events
from ..protocol.event_ids import compute_event_id, create_event_id_for_room
from ..protocol.events import auth_event_ids, prev_event_ids
from ..protocol.room_versions import RoomVersion
from ..protocol.state_res import resolve_state
from ..storage.events import StoredEvent
from ..storage.state import StateMap
from ..types import EventId, JsonDict, RoomId
from .events import RoomEvents


class MissingEvent(PduRejected):
    """An event needed to check another is not here (it may be fetched and the check retried)."""

    def __init__(self, event_id: EventId, message: str) -> None:
        super().__init__(message)
        self.event_id = event_id


MAX_FETCHES = 50


class RemoteEvents:
    def __init__(self, *, room_events: RoomEvents, checker: PduChecker,
                 fetch_event=None) -> None:
        self._fetch_event = fetch_event  # async (origin, event_id) -> PDU or None
        self._events = room_events
        self._checker = checker

    async def receive_from(self, origin: str, room_id: RoomId, pdu: JsonDict) -> StoredEvent:
        """`receive`, fetching from `origin` the auth events and auth-chain events it lacks
        (as outliers) and retrying: a server must not reject an event only because it has
        not seen everything the event's checks need yet."""
        for _ in range(MAX_FETCHES):
            try:
                return await self.receive(room_id, pdu)
            except MissingEvent as missing:
                if not await self._fetch_outlier(origin, room_id, missing.event_id):
                    raise
        raise PduRejected("too many missing events")

    async def _fetch_outlier(self, origin: str, room_id: RoomId, event_id: EventId) -> bool:
        if self._fetch_event is None:
            return False
        fetched = await self._fetch_event(origin, event_id)
        if not isinstance(fetched, dict):
            return False
        version = self._events.version(room_id)
        try:
            checked_id, checked = await self._checker.check(fetched, version)
        except PduRejected:
            return False
        if checked_id != event_id or checked.get("room_id", room_id) != room_id:
            return False
        self._events.store_outlier(room_id, event_id, checked)
        return True

    async def receive(self, room_id: RoomId, pdu: JsonDict) -> StoredEvent:
        """Check and store one PDU; raises PduRejected with the reason when it is refused."""
        version = self._events.version(room_id)
        event_id, pdu = await self._checker.check(pdu, version)
        known = self._events.events.get(event_id)
        if known is not None:
            return known
        if pdu.get("room_id") not in (None, room_id):
            raise PduRejected("the event belongs to another room")
        self._check_against_auth_events(pdu, version)
        state_before = self._state_before(pdu, version)
        self._check_against_state(pdu, state_before, version, "the state before it")
        extremities = self._new_extremities(room_id, event_id, pdu)
        current = self._current_state_after(room_id, version, event_id, pdu, state_before,
                                            extremities)
        return self._events.persist_placed(room_id, event_id, pdu, state_before=state_before,
                                           extremities=extremities, current_state=current)

    async def check_signatures(self, room_id: RoomId, pdu: JsonDict) -> None:
        """Raise PduRejected unless the servers that must sign the PDU did."""
        await self._checker.check_signatures(pdu, self._events.version(room_id))

    def event_id_of(self, room_id: RoomId, pdu: JsonDict) -> EventId | None:
        """The ID a PDU has in its room's version, or None if it cannot be computed."""
        try:
            return compute_event_id(pdu, self._events.version(room_id))
        except Exception:  # noqa: BLE001 — a malformed PDU simply has no usable ID
            return None

    def _auth_events(self, pdu: JsonDict) -> list[JsonDict]:
        found = []
        for auth_id in auth_event_ids(pdu):
            stored = self._events.events.get(auth_id)
            if stored is None:
                raise MissingEvent(auth_id, f"unknown auth event {auth_id}")
            found.append(stored.pdu)
        return found

    def _check_against_auth_events(self, pdu: JsonDict, version: RoomVersion) -> None:
        auth_events = self._auth_events(pdu)
        try:
            check_auth_events(pdu, auth_events, version)
        except AuthError as error:
            raise PduRejected(f"bad auth events: {error}") from None
        by_key = {(e["type"], e.get("state_key", "")): e for e in auth_events}
        # v12: the create event is never listed; the room ID names it.
        self._authorise(pdu, by_key, version, "its auth events",
                        create_id=create_event_id_for_room(pdu.get("room_id", ""), version))

    def _check_against_state(self, pdu: JsonDict, state: StateMap, version: RoomVersion,
                             what: str) -> None:
        keys = auth_types_for_event(pdu["type"], pdu["sender"], pdu.get("state_key"),
                                    pdu.get("content", {}), version)
        by_key = {k: self._events.events.get(state[k]).pdu for k in keys if k in state}
        self._authorise(pdu, by_key, version, what, create_id=state.get(("m.room.create", "")))

    def _authorise(self, pdu: JsonDict, auth_map: dict, version: RoomVersion, what: str, *,
                   create_id: EventId | None = None) -> None:
        create = auth_map.get(("m.room.create", ""))
        if create is None and create_id is not None:
            stored = self._events.events.get(create_id)
            create = stored.pdu if stored is not None else None
        try:
            check_auth(pdu, auth_map, version, create_event=create)
        except AuthError as error:
            raise PduRejected(f"not allowed by {what}: {error}") from None

    def _state_before(self, pdu: JsonDict, version: RoomVersion) -> StateMap:
        prevs = []
        for prev_id in prev_event_ids(pdu):
            stored = self._events.events.get(prev_id)
            if stored is None:
                raise PduRejected(f"unknown previous event {prev_id}")
            prevs.append(stored)
        states = [self._events.state_after(p) for p in prevs]
        if len(states) == 1:
            return dict(states[0])
        return self._resolve(version, states)

    def _resolve(self, version: RoomVersion, states: list[StateMap],
                 pending: dict[EventId, JsonDict] | None = None) -> StateMap:
        """State resolution over `states`; `pending` holds the event being received, which
        takes part in the resolution before it is stored."""
        event_map: dict[EventId, JsonDict] = dict(pending or {})

        def auth_chain(event_id: EventId) -> set[EventId]:
            chain, todo = set(), list(auth_event_ids(self._load(event_id, event_map)))
            while todo:
                current = todo.pop()
                if current not in chain:
                    chain.add(current)
                    todo.extend(auth_event_ids(self._load(current, event_map)))
            return chain

        for state in states:
            for event_id in state.values():
                for linked in {event_id, *auth_chain(event_id)}:
                    self._load(linked, event_map)
        return resolve_state(version, states, event_map, auth_chain)

    def _load(self, event_id: EventId, event_map: dict[EventId, JsonDict]) -> JsonDict:
        if event_id not in event_map:
            stored = self._events.events.get(event_id)
            if stored is None:
                raise MissingEvent(event_id,
                                   f"missing event {event_id} needed for state resolution")
            event_map[event_id] = stored.pdu
        return event_map[event_id]

    def _new_extremities(self, room_id: RoomId, event_id: EventId, pdu: JsonDict) -> list[EventId]:
        prevs = set(prev_event_ids(pdu))
        return [e for e in self._events.events.forward_extremities(room_id) if e not in prevs] + [
            event_id]

    def _current_state_after(self, room_id: RoomId, version: RoomVersion, event_id: EventId,
                             pdu: JsonDict, state_before: StateMap,
                             extremities: list[EventId]) -> StateMap:
        after = dict(state_before)
        if pdu.get("state_key") is not None:
            after[(pdu["type"], pdu["state_key"])] = event_id
        others = [self._events.state_after(self._events.events.get(e))
                  for e in extremities if e != event_id]
        if not others:
            return after
        return self._resolve(version, [after, *others], pending={event_id: pdu})


def rejected_to_error(error: PduRejected) -> errors.MatrixError:
    return errors.forbidden(f"The event was rejected: {error}")
