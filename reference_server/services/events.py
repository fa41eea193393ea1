# SPDX-License-Identifier: Apache-2.0
"""Appending local events to a room's DAG: build, authorise, sign, persist, notify.

Every local event goes through `append`: it takes the room's forward extremities as
prev_events, selects auth events from the current state as the spec's auth-events
selection says, builds and signs the PDU in the room version's format, checks it against
the authorization rules, and persists it with its state group in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .. import errors
from ..protocol.auth_rules import AuthError, auth_types_for_event, check_auth
from ..protocol.canonical_json import encode_canonical_json
from ..protocol.events import build_pdu, server_of
from ..protocol.power_levels import named_power_level, power_level_of
from ..protocol.redaction import redact
from ..protocol.room_versions import RoomVersion, room_version
from ..protocol.server_acl import InvalidAcl, parse_acl
from ..protocol.signing import SigningKey
from ..storage.database import Database
from ..storage.events import EventStore, StoredEvent, Transaction
from ..storage.rooms import RoomStore
from ..storage.state import StateMap, StateStore
from ..types import EventId, JsonDict, RoomId, UserId
from .clock import now_ms
from .notifier import Notifier

MAX_PDU_BYTES = 65536


@dataclass(frozen=True)
class NewEvent:
    """What a client (or the server on its behalf) asks to add to a room."""

    sender: UserId
    event_type: str
    content: JsonDict
    state_key: str | None = None
    redacts: EventId | None = None
    txn: Transaction | None = None


class RoomEvents:
    def __init__(self, *, db: Database, events: EventStore, state: StateStore, rooms: RoomStore,
                 notifier: Notifier, server_name: str, signing_key: SigningKey) -> None:
        self._db = db
        self.events = events
        self.state = state
        self._rooms = rooms
        self._notifier = notifier
        self._server_name = server_name
        self._key = signing_key
        self._outbound: Outbound | None = None
        self._pushers: list[EventPusher] = []

    def store_outlier(self, room_id: RoomId, event_id: EventId, pdu: JsonDict) -> None:
        """Keep an event known only as part of another's auth chain (not in the timeline)."""
        with self._db.transaction():
            if self.events.get(event_id) is None:
                self.events.insert(event_id, pdu, room_id=room_id,
                                   stream_ordering=self._db.next_stream_id(), state_group=None,
                                   outlier=True)

    def record_remote_membership(self, room_id: RoomId, version_id: str, event_id: EventId,
                                 pdu: JsonDict) -> None:
        """A membership event of ours in a room this server is not in (an invite to it, a
        knock on it, a leave from it): kept as an outlier, the room known by its version,
        and the user's membership set from the event."""
        with self._db.transaction():
            if self._rooms.version(room_id) is None:
                self._rooms.create(room_id, version_id, None, now_ms=now_ms())
            if self.events.get(event_id) is None:
                stream = self._db.next_stream_id()
                self.events.insert(event_id, pdu, room_id=room_id, stream_ordering=stream,
                                   state_group=None, outlier=True)
                self.state.set_membership(room_id, pdu["state_key"],
                                          pdu["content"]["membership"], event_id, stream)
        self.notify()

    def notify(self) -> None:
        """Wake /sync waiters after a change made outside `persist` (e.g. a remote invite)."""
        self._notifier.notify()

    def push_events_to(self, pusher: EventPusher) -> None:
        """Let `pusher` see every event stored here, local or remote, inside the event's
        transaction (application services; the remote device-list cache)."""
        self._pushers.append(pusher)

    def _queue_pushes(self, room_id: RoomId, event_id: EventId, pdu: JsonDict) -> list:
        return [(p, p.queue_event(room_id, event_id, pdu)) for p in self._pushers]

    @staticmethod
    def _flush_pushes(queued: list) -> None:
        for pusher, targets in queued:
            if targets:
                pusher.flush(targets)

    def send_new_events_with(self, outbound: Outbound) -> None:
        """Let federation queue each new local event for the other servers in its room."""
        self._outbound = outbound

    def version(self, room_id: RoomId) -> RoomVersion:
        identifier = self._rooms.version(room_id)
        if identifier is None:
            raise errors.not_found("Unknown room.")
        version = room_version(identifier)
        assert version is not None, f"stored room with unknown version {identifier}"
        return version

    def build(self, room_id: RoomId | None, version: RoomVersion, new: NewEvent,
              current: StateMap, prev_events: list[EventId], *,
              origin: str | None = None) -> tuple[EventId, JsonDict]:
        """Build, size-check and authorise a PDU against `current` state; nothing is stored."""
        _check_content(new)
        auth_keys = auth_types_for_event(new.event_type, new.sender, new.state_key,
                                         new.content, version)
        auth_ids = [current[key] for key in auth_keys if key in current]
        depth = 1 + max((self._pdu(e)["depth"] for e in prev_events), default=0)
        event_id, pdu = build_pdu(
            version=version, room_id=room_id, sender=new.sender, event_type=new.event_type,
            content=new.content, prev_events=prev_events, auth_events=auth_ids, depth=depth,
            origin_server_ts=now_ms(), origin=origin or self._server_name, key=self._key,
            state_key=new.state_key, redacts=new.redacts,
            edge_hashes={e: self._pdu(e).get("hashes", {}) for e in [*prev_events, *auth_ids]}
            if version.event_id_in_pdu else None,
        )
        replaced = current.get((new.event_type, new.state_key)) if new.state_key is not None else None
        if replaced is not None:
            pdu["unsigned"] = {"replaces_state": replaced}
        if len(encode_canonical_json(pdu)) > MAX_PDU_BYTES:
            raise errors.too_large("Events may be at most 65536 bytes.")
        auth_events = {key: self._pdu(current[key]) for key in auth_keys if key in current}
        create_id = current.get(("m.room.create", ""))
        create_event = self._pdu(create_id) if create_id else pdu
        try:
            check_auth(pdu, auth_events, version, create_event=create_event)
        except AuthError as error:
            raise errors.forbidden(str(error)) from None
        return event_id, pdu

    def append(self, room_id: RoomId, new: NewEvent) -> StoredEvent:
        """Add one event to a local room; raises MatrixError if the rules forbid it."""
        version = self.version(room_id)
        current = self.state.current_state(room_id)
        prev_events = self.events.forward_extremities(room_id)
        event_id, pdu = self.build(room_id, version, new, current, prev_events)
        return self.persist(room_id, event_id, pdu, txn=new.txn)

    def persist(self, room_id: RoomId, event_id: EventId, pdu: JsonDict, *,
                txn: Transaction | None = None) -> StoredEvent:
        """Store an authorised event at the head of the room: state, membership, extremities."""
        prev_events = self.events.forward_extremities(room_id)
        prev_group = self._group_after(prev_events)
        with self._db.transaction():
            stream = self._db.next_stream_id()
            group = prev_group
            state_key = pdu.get("state_key")
            if state_key is not None:
                key = (pdu["type"], state_key)
                group = self.state.create_group(room_id, prev_group, {key: event_id})
                self.state.set_current(room_id, pdu["type"], state_key, event_id)
                if pdu["type"] == "m.room.member":
                    self.state.set_membership(room_id, state_key, pdu["content"]["membership"],
                                              event_id, stream)
            self.events.insert(event_id, pdu, room_id=room_id, stream_ordering=stream,
                               state_group=group, txn=txn)
            self.events.set_forward_extremities(room_id, [event_id])
            if pdu["type"] == "m.room.redaction":
                self._apply_redaction(room_id, pdu, event_id)
            destinations = self._queue_outbound(room_id, pdu)
            pushes = self._queue_pushes(room_id, event_id, pdu)
        self._notifier.notify()
        if destinations:
            self._outbound.flush(destinations)
        self._flush_pushes(pushes)
        stored = self.events.get(event_id)
        assert stored is not None
        return stored

    def _queue_outbound(self, room_id: RoomId, pdu: JsonDict) -> set[str]:
        """Servers that must receive a local event: those with joined members, and the
        server of a membership event's target."""
        if self._outbound is None or pdu.get("origin", self._server_name) != self._server_name:
            return set()
        servers = self.state.servers_in_room(room_id)
        if pdu["type"] == "m.room.member":
            servers.add(server_of(pdu["state_key"]))
        servers -= {self._server_name, ""}
        self._outbound.queue(servers, "pdu", pdu)
        return servers

    def persist_placed(self, room_id: RoomId, event_id: EventId, pdu: JsonDict, *,
                       state_before: StateMap, extremities: list[EventId],
                       current_state: StateMap) -> StoredEvent:
        """Store an event whose place in the DAG was worked out by the caller.

        Used for events from other servers, which may fork the room: the caller gives
        the state before the event (resolved across its prev_events), the room's new
        forward extremities and its new current state (resolved across them).
        """
        old_current = self.state.current_state(room_id)
        with self._db.transaction():
            stream = self._db.next_stream_id()
            group = self.state.create_group(room_id, None,
                                            _state_after(state_before, event_id, pdu))
            self._insert_or_place(room_id, event_id, pdu, stream=stream, group=group)
            self.events.set_forward_extremities(room_id, extremities)
            for key, current_id in current_state.items():
                if old_current.get(key) == current_id:
                    continue
                self.state.set_current(room_id, key[0], key[1], current_id)
                if key[0] == "m.room.member":
                    member = self._pdu(current_id)
                    self.state.set_membership(room_id, key[1], member["content"]["membership"],
                                              current_id, stream)
            if pdu["type"] == "m.room.redaction":
                self._apply_redaction(room_id, pdu, event_id)
            pushes = self._queue_pushes(room_id, event_id, pdu)
        self._notifier.notify()
        self._flush_pushes(pushes)
        return self.events.get(event_id)

    def persist_soft_failed(self, room_id: RoomId, event_id: EventId, pdu: JsonDict, *,
                            state_before: StateMap) -> StoredEvent:
        """Store an event that failed the auth rules against the room's current state only.

        Spec (server-server, soft failure): it is kept in the DAG with its state, for state
        resolution when later events reference it, but it is not relayed to clients (nor
        application services), not a forward extremity and does not change current state;
        a soft-failed redaction redacts nothing.
        """
        with self._db.transaction():
            group = self.state.create_group(room_id, None,
                                            _state_after(state_before, event_id, pdu))
            self._insert_or_place(room_id, event_id, pdu, stream=self._db.next_stream_id(),
                                  group=group, soft_failed=True)
        return self.events.get(event_id)

    def _insert_or_place(self, room_id: RoomId, event_id: EventId, pdu: JsonDict, *,
                         stream: int, group: int, soft_failed: bool = False) -> None:
        """Store a remote event with its place in the DAG. One held as an outlier (an auth
        event, the state at a gap, an invite) keeps its row and only gains that place."""
        known = self.events.get(event_id)
        if known is not None and known.outlier:
            self.events.place_outlier(event_id, stream_ordering=stream, state_group=group,
                                      soft_failed=soft_failed)
        else:
            self.events.insert(event_id, pdu, room_id=room_id, stream_ordering=stream,
                               state_group=group, soft_failed=soft_failed)

    def _apply_redaction(self, room_id: RoomId, pdu: JsonDict, event_id: EventId) -> None:
        target_id = pdu.get("redacts") or pdu["content"].get("redacts")
        target = self.events.get(target_id) if target_id else None
        if target is not None and target.pdu.get("room_id", room_id) == room_id:
            # Redacted state stays state, with only its kept content (client-server-api/
            # #redactions note), so the pruned form is what auth checks read from now on.
            pruned = redact(target.pdu, self.version(room_id))
            self.events.mark_redacted(target_id, event_id, pruned)

    def _group_after(self, event_ids: list[EventId]) -> int | None:
        groups = [self.events.get(e).state_group for e in event_ids]
        return max((g for g in groups if g is not None), default=None)

    def _pdu(self, event_id: EventId) -> JsonDict:
        stored = self.events.get(event_id)
        if stored is None:
            raise errors.not_found(f"Unknown event {event_id}.")
        return stored.pdu

    # reading state ---------------------------------------------------------------
    def state_after(self, event: StoredEvent) -> StateMap:
        return self.state.group_state(event.state_group) if event.state_group else {}

    def state_before(self, event: StoredEvent) -> StateMap:
        """The room state just before an event (the state its prev_events agree on)."""
        state = dict(self.state_after(event))
        state_key = event.pdu.get("state_key")
        if state_key is None:
            return state
        prev_ids = _prev_event_ids(event.pdu)
        if not prev_ids:
            return {}
        prev_group = self._group_after(prev_ids)
        if prev_group is None:
            # Parents held only as outliers (the join that opened a room joined over
            # federation): its own state, less the key it set, is the best we know.
            state.pop((event.pdu["type"], state_key), None)
            return state
        return self.state.group_state(prev_group)

    def state_events(self, state: StateMap) -> dict[tuple[str, str], JsonDict]:
        return {key: self._pdu(event_id) for key, event_id in state.items()}

    def current_state_event(self, room_id: RoomId, event_type: str,
                            state_key: str = "") -> JsonDict | None:
        event_id = self.state.current_event_id(room_id, event_type, state_key)
        return self._pdu(event_id) if event_id else None

    def check_may_redact(self, room_id: RoomId, sender: UserId, target_id: EventId) -> None:
        """Another user's event needs the room's `redact` level (client-server, redaction).

        From room v3 the auth rules leave this to the redacting server ("Handling
        redactions"), so it is checked here, before the redaction is sent.
        """
        target = self.events.get(target_id)
        if target is None or target.pdu.get("sender") == sender:
            return
        version = self.version(room_id)
        power = self.current_state_event(room_id, "m.room.power_levels")
        content = power["content"] if power else None
        create = self.current_state_event(room_id, "m.room.create")
        if power_level_of(sender, content, create, version) < \
                named_power_level("redact", content, version):
            raise errors.forbidden("Redacting other users' events needs the redact power level.")


class EventPusher(Protocol):
    def queue_event(self, room_id: RoomId, event_id: EventId, pdu: JsonDict) -> set[str]: ...
    def flush(self, targets: set[str]) -> None: ...


class Outbound(Protocol):
    def queue(self, destinations: set[str], kind: str, body: JsonDict) -> None: ...
    def flush(self, destinations: set[str]) -> None: ...


def _check_content(new: NewEvent) -> None:
    """Content rules that make an event meaningless if broken, checked before sending."""
    if new.event_type == "m.room.server_acl" and new.state_key == "":
        try:
            parse_acl(new.content)
        except InvalidAcl as error:
            raise errors.bad_json(f"Invalid server ACL: {error}") from None


def _state_after(state_before: StateMap, event_id: EventId, pdu: JsonDict) -> StateMap:
    """The state after an event: the state before it, updated with it if it is state."""
    after = dict(state_before)
    if pdu.get("state_key") is not None:
        after[(pdu["type"], pdu["state_key"])] = event_id
    return after


def _prev_event_ids(pdu: JsonDict) -> list[EventId]:
    return [p[0] if isinstance(p, list) else p for p in pdu.get("prev_events", [])]
