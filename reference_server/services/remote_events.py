# SPDX-License-Identifier: Apache-2.0
"""Events from other servers: authorising them and placing them in the room's DAG.

Spec (server-server, checks performed on receipt of a PDU), after `PduChecker` (1.
format, 2. signatures, 3. content hash): the authorization rules are applied 4. against
the event's auth events and 5. against the state before it — failing either rejects it
— and 6. against the room's current state, failing which soft-fails it (kept in the DAG,
hidden from clients, not built upon). Forks are merged with the room version's state
resolution.

An event whose prev events are not here is not refused for that alone (backfilling and
retrieving missing events): the sender is asked for the gap with /get_missing_events and
what it gives is received first, oldest first; for prev events still missing, the state
after them is asked for (/state_ids) and resolved with the state after the known ones.
Events pulled that way never trigger another /get_missing_events, so one pushed PDU
costs a bounded number of requests.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import trio

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
from .remote_history import RemoteHistory

log = logging.getLogger(__name__)


class MissingEvent(PduRejected):
    """An event needed to check another is not here (it may be fetched and the check retried)."""

    def __init__(self, event_id: EventId, message: str) -> None:
        super().__init__(message)
        self.event_id = event_id


MAX_FETCHES = 50  # auth (chain) events fetched one by one for one check, at most

# The state after each prev event that is not in our timeline, as the sender gave it.
RemoteStates = dict[EventId, StateMap]


class RemoteEvents:
    def __init__(self, *, room_events: RoomEvents, checker: PduChecker,
                 history: RemoteHistory | None = None) -> None:
        self._events = room_events
        self._checker = checker
        self._history = history
        self._room_locks: dict[RoomId, trio.Lock] = {}

    async def receive_from(self, origin: str, room_id: RoomId, pdu: JsonDict) -> StoredEvent:
        """Check and store a PDU `origin` pushed, fetching from it what the checks need:
        missing prev events (or the state at them) and auth events (as outliers), so an
        event is not refused only because this server has not seen all of its past.
        One room at a time, so concurrent transactions do not fill the same gap twice."""
        async with self._room_locks.setdefault(room_id, trio.Lock()):
            return await self._receive_from(origin, room_id, pdu, pulled=False)

    async def _receive_from(self, origin: str, room_id: RoomId, pdu: JsonDict, *,
                            pulled: bool) -> StoredEvent:
        event_id, pdu, known = await self._checked(room_id, pdu)
        if known is not None:
            return known
        if not pulled and self._missing_prevs(pdu):
            await self._pull_gap(origin, room_id, event_id, pdu)
        remote_states: RemoteStates = {}
        for prev_id in self._missing_prevs(pdu):
            remote_states[prev_id] = await self._state_after_missing(origin, room_id, prev_id)
        return await self._fetching(origin, room_id,
                                    lambda: self._place(room_id, event_id, pdu, remote_states))

    async def receive(self, room_id: RoomId, pdu: JsonDict) -> StoredEvent:
        """Check and store one PDU with nothing fetched; raises PduRejected with the
        reason when it is refused (also when an event it needs is not here)."""
        event_id, pdu, known = await self._checked(room_id, pdu)
        if known is not None:
            return known
        return self._place(room_id, event_id, pdu, {})

    async def _checked(self, room_id: RoomId, pdu: JsonDict
                       ) -> tuple[EventId, JsonDict, StoredEvent | None]:
        """Steps 1-3; the event ID, the PDU as it may be stored, and the stored event if
        it is already here with its place in the DAG."""
        event_id, pdu = await self._checker.check(pdu, self._events.version(room_id))
        known = self._events.events.get(event_id)
        if known is not None and known.outlier:
            # Held only to check others, it now arrives for real: it is checked and
            # placed like a new event (its row is kept, see RoomEvents._insert_or_place).
            known = None
        if known is None and pdu.get("room_id") not in (None, room_id):
            raise PduRejected("the event belongs to another room")
        return event_id, pdu, known

    def _missing_prevs(self, pdu: JsonDict) -> list[EventId]:
        """Prev events without a place in our timeline (unknown, or only outliers)."""
        return [p for p in prev_event_ids(pdu)
                if (stored := self._events.events.get(p)) is None or stored.outlier]

    async def _pull_gap(self, origin: str, room_id: RoomId, event_id: EventId,
                        pdu: JsonDict) -> None:
        """/get_missing_events, and receive what it gives, oldest first; an event of the
        gap that is refused is left out (the state at it is asked for later)."""
        if self._history is None:
            return
        for missing in await self._history.missing_events(origin, room_id, event_id, pdu):
            try:
                await self._receive_from(origin, room_id, missing, pulled=True)
            except (PduRejected, errors.MatrixError) as error:
                log.info("an event of the gap before %s from %s was refused: %s", event_id,
                         origin, error)

    async def _state_after_missing(self, origin: str, room_id: RoomId,
                                   prev_id: EventId) -> StateMap:
        """The state after a prev event we lack: the state before it as `origin` gives
        it, plus the event itself when it is a state event that passes the auth rules on
        its auth events and on that state (a rejected event does not change state,
        server-server rejection)."""
        if self._history is None:
            raise PduRejected(f"unknown previous event {prev_id}")
        state = await self._history.state_before(origin, room_id, prev_id)
        if not await self._history.fetch_outlier(origin, room_id, prev_id):
            raise PduRejected(f"{origin} did not give the previous event {prev_id}")
        prev = self._events.events.get(prev_id).pdu
        if prev.get("state_key") is not None and await self._fetching(
                origin, room_id, lambda: self._allowed(room_id, prev, state)):
            state[(prev["type"], prev["state_key"])] = prev_id
        return state

    async def _fetching(self, origin: str, room_id: RoomId, attempt: Callable):
        """`attempt()`, fetching from `origin` each event it misses (as an outlier) and
        trying again."""
        for _ in range(MAX_FETCHES):
            try:
                return attempt()
            except MissingEvent as missing:
                if self._history is None or \
                        not await self._history.fetch_outlier(origin, room_id, missing.event_id):
                    raise
        raise PduRejected("too many missing events")

    def _place(self, room_id: RoomId, event_id: EventId, pdu: JsonDict,
               remote_states: RemoteStates) -> StoredEvent:
        """Steps 4-6 and storing; no `await`, so it sees and changes the room atomically."""
        version = self._events.version(room_id)
        self._check_against_auth_events(pdu, version)  # 4
        state_before = self._state_before(pdu, version, remote_states)
        self._check_against_state(pdu, state_before, version, "the state before it")  # 5
        if self._fails_current_state(room_id, pdu, version, state_before, remote_states):  # 6
            log.info("soft-failed %s in %s", event_id, room_id)
            return self._events.persist_soft_failed(room_id, event_id, pdu,
                                                    state_before=state_before)
        extremities = self._new_extremities(room_id, event_id, pdu)
        current = self._current_state_after(room_id, version, event_id, pdu, state_before,
                                            extremities)
        return self._events.persist_placed(room_id, event_id, pdu, state_before=state_before,
                                           extremities=extremities, current_state=current)

    def _fails_current_state(self, room_id: RoomId, pdu: JsonDict, version: RoomVersion,
                             state_before: StateMap, remote_states: RemoteStates) -> bool:
        """Spec (soft failure): the event must also pass the auth rules against the
        current state — the resolved state across all forward extremities — which is
        the state before it when its prev events are exactly those extremities. An
        event closing a gap brings state the room has not seen: it is resolved with
        the extremities' states, as it will be once the event is an extremity."""
        extremities = self._events.events.forward_extremities(room_id)
        if set(prev_event_ids(pdu)) == set(extremities):
            return False
        current = self._events.state.current_state(room_id)
        if remote_states:
            current = self._resolve(version, [
                *(self._events.state_after(self._events.events.get(e)) for e in extremities),
                state_before])
        try:
            self._check_against_state(pdu, current, version, "the current state")
        except PduRejected:
            return True
        return False

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

    def _allowed(self, room_id: RoomId, pdu: JsonDict, state_before: StateMap) -> bool:
        """Whether the event passes steps 4 and 5 (MissingEvent if that cannot be told)."""
        version = self._events.version(room_id)
        try:
            self._check_against_auth_events(pdu, version)
            self._check_against_state(pdu, state_before, version, "the state before it")
        except MissingEvent:
            raise
        except PduRejected:
            return False
        return True

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

    def _state_before(self, pdu: JsonDict, version: RoomVersion,
                      remote_states: RemoteStates) -> StateMap:
        """The state after each prev event, resolved when there are several; for prev
        events not in our timeline, the state the sender gave for them."""
        states = []
        for prev_id in prev_event_ids(pdu):
            if prev_id in remote_states:
                states.append(remote_states[prev_id])
                continue
            stored = self._events.events.get(prev_id)
            if stored is None:
                raise PduRejected(f"unknown previous event {prev_id}")
            states.append(self._events.state_after(stored))
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
        """The forward extremities once the event is placed: the event's prev events stop
        being extremities, and the event is one unless it arrived after a timeline event
        that builds on it (then that event, or a later one, already is)."""
        prevs = set(prev_event_ids(pdu))
        kept = [e for e in self._events.events.forward_extremities(room_id) if e not in prevs]
        if self._events.events.has_timeline_child(event_id):
            return kept
        return [*kept, event_id]

    def _current_state_after(self, room_id: RoomId, version: RoomVersion, event_id: EventId,
                             pdu: JsonDict, state_before: StateMap,
                             extremities: list[EventId]) -> StateMap:
        """The state resolved across the new forward extremities."""
        after = dict(state_before)
        if pdu.get("state_key") is not None:
            after[(pdu["type"], pdu["state_key"])] = event_id
        states = [after if e == event_id else self._events.state_after(self._events.events.get(e))
                  for e in extremities]
        if len(states) == 1:
            return dict(states[0])
        return self._resolve(version, states, pending={event_id: pdu})


def rejected_to_error(error: PduRejected) -> errors.MatrixError:
    return errors.forbidden(f"The event was rejected: {error}")
