# SPDX-License-Identifier: Apache-2.0
"""Persisted PDUs, in stream order, with the transaction IDs that produced them."""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

from ..protocol.events import prev_event_ids
from ..types import DeviceId, EventId, JsonDict, RoomId, UserId
from .database import Database

# (user, device, endpoint path without the txnId, txnId): what identifies a retransmission
# (client-server-api/#transaction-identifiers).
Transaction = tuple[UserId, DeviceId, str, str]


@dataclass(frozen=True)
class StoredEvent:
    event_id: EventId
    stream_ordering: int
    state_group: int | None
    pdu: JsonDict
    redacted_by: EventId | None
    outlier: bool = False  # known, but with no place in the timeline (no state group)
    soft_failed: bool = False  # in the DAG, hidden from clients (server-server, soft failure)


class EventStore:
    def __init__(self, db: Database, *, cache_size: int = 20000) -> None:
        self._db = db
        self._cache: OrderedDict[EventId, StoredEvent] = OrderedDict()
        self._cache_size = cache_size
        db.on_rollback(self._cache.clear)

    def insert(self, event_id: EventId, pdu: JsonDict, *, room_id: RoomId, stream_ordering: int,
               state_group: int | None, txn: Transaction | None = None,
               outlier: bool = False, soft_failed: bool = False) -> None:
        """Store an event; an outlier is known but has no place in the room's timeline, a
        soft-failed event has one but is never shown to clients."""
        txn_user, txn_device, txn_path, txn_id = txn if txn else (None, None, None, None)
        self._db.execute(
            "INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender,"
            " depth, origin_server_ts, state_group, json, txn_user, txn_device, txn_path, txn_id,"
            " outlier, soft_failed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (stream_ordering, event_id, room_id, pdu["type"], pdu.get("state_key"), pdu["sender"],
             pdu["depth"], pdu["origin_server_ts"], state_group, json.dumps(pdu),
             txn_user, txn_device, txn_path, txn_id, int(outlier), int(soft_failed)),
        )
        for prev_id in dict.fromkeys(prev_event_ids(pdu)):
            self._db.execute("INSERT INTO event_edges (event_id, prev_event_id) VALUES (?, ?)",
                             (event_id, prev_id))

    def place_outlier(self, event_id: EventId, *, stream_ordering: int, state_group: int,
                      soft_failed: bool = False) -> None:
        """Give an event held as an outlier its place in the timeline, at a new stream
        position (so /sync reports it now); the row stays the same, redaction included."""
        self._db.execute(
            "UPDATE events SET stream_ordering = ?, state_group = ?, outlier = 0,"
            " soft_failed = ? WHERE event_id = ? AND outlier = 1",
            (stream_ordering, state_group, int(soft_failed), event_id))
        self._cache.pop(event_id, None)

    def has_timeline_child(self, event_id: EventId) -> bool:
        """Whether an event of the timeline we hold lists `event_id` in its prev_events
        (outliers and soft-failed events are not built upon, so they do not count)."""
        return self._db.one(
            "SELECT 1 FROM event_edges JOIN events ON events.event_id = event_edges.event_id"
            f" WHERE event_edges.prev_event_id = ? AND {_SHOWN} LIMIT 1", (event_id,)) is not None

    def get(self, event_id: EventId) -> StoredEvent | None:
        cached = self._cache.get(event_id)
        if cached is not None:
            self._cache.move_to_end(event_id)
            return cached
        row = self._db.one(f"SELECT {_COLUMNS} FROM events WHERE event_id = ?", (event_id,))
        if row is None:
            return None
        return self._remember(_stored(row))

    def _remember(self, event: StoredEvent) -> StoredEvent:
        self._cache[event.event_id] = event
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return event

    def mark_redacted(self, event_id: EventId, redaction_id: EventId, pruned: JsonDict) -> None:
        """Record the redaction and keep only the pruned PDU: the stripped event is what is
        served from then on, and the removed content is gone (client-server-api/#redactions)."""
        self._db.execute("UPDATE events SET redacted_by = ?, json = ? WHERE event_id = ?"
                         " AND redacted_by IS NULL", (redaction_id, json.dumps(pruned), event_id))
        self._cache.pop(event_id, None)

    def by_txn(self, user_id: UserId, device_id: DeviceId, path: str,
               txn_id: str) -> EventId | None:
        return self._db.scalar(
            "SELECT event_id FROM events WHERE txn_user = ? AND txn_device = ? AND txn_path = ?"
            " AND txn_id = ?", (user_id, device_id, path, txn_id))

    def room_of(self, event_id: EventId) -> RoomId | None:
        return self._db.scalar("SELECT room_id FROM events WHERE event_id = ?", (event_id,))

    def txn_of(self, event_id: EventId, user_id: UserId, device_id: DeviceId) -> str | None:
        return self._db.scalar(
            "SELECT txn_id FROM events WHERE event_id = ? AND txn_user = ? AND txn_device = ?",
            (event_id, user_id, device_id))

    def room_events(self, room_id: RoomId, *, after: int, upto: int, limit: int,
                    backwards: bool) -> list[StoredEvent]:
        """Timeline events with after < stream_ordering <= upto, newest first when
        `backwards`: what clients may be shown (no outliers, no soft-failed events)."""
        order = "DESC" if backwards else "ASC"
        rows = self._db.all(
            f"SELECT {_COLUMNS} FROM events"
            " WHERE room_id = ? AND stream_ordering > ? AND stream_ordering <= ?"
            f" AND {_SHOWN} ORDER BY stream_ordering {order} LIMIT ?",
            (room_id, after, upto, limit))
        return [_stored(row) for row in rows]

    def rooms_with_events_between(self, room_ids: list[RoomId], after: int, upto: int) -> set[RoomId]:
        if not room_ids:
            return set()
        marks = ",".join("?" * len(room_ids))
        rows = self._db.all(
            f"SELECT DISTINCT room_id FROM events WHERE room_id IN ({marks})"
            f" AND stream_ordering > ? AND stream_ordering <= ? AND {_SHOWN}",
            (*room_ids, after, upto))
        return {row["room_id"] for row in rows}

    def closest_in_time(self, room_id: RoomId, ts: int, *, forwards: bool) -> StoredEvent | None:
        """The room's first timeline event at or after `ts` (`forwards`), or its last one
        at or before it, by origin_server_ts."""
        op, order = (">=", "ASC") if forwards else ("<=", "DESC")
        row = self._db.one(
            f"SELECT {_COLUMNS} FROM events"
            f" WHERE room_id = ? AND {_SHOWN} AND origin_server_ts {op} ?"
            f" ORDER BY origin_server_ts {order}, stream_ordering {order} LIMIT 1",
            (room_id, ts))
        return _stored(row) if row else None

    def forward_extremities(self, room_id: RoomId) -> list[EventId]:
        rows = self._db.all("SELECT event_id FROM forward_extremities WHERE room_id = ?", (room_id,))
        return [row["event_id"] for row in rows]

    def set_forward_extremities(self, room_id: RoomId, event_ids: list[EventId]) -> None:
        self._db.execute("DELETE FROM forward_extremities WHERE room_id = ?", (room_id,))
        for event_id in event_ids:
            self._db.execute("INSERT INTO forward_extremities (room_id, event_id) VALUES (?, ?)",
                             (room_id, event_id))


    def min_timeline_depth(self, room_id: RoomId) -> int | None:
        """The depth of the oldest event in the room's timeline (not counting outliers)."""
        return self._db.scalar("SELECT MIN(depth) FROM events WHERE room_id = ? AND outlier = 0",
                               (room_id,))


_COLUMNS = "event_id, stream_ordering, state_group, json, redacted_by, outlier, soft_failed"
_SHOWN = "outlier = 0 AND soft_failed = 0"  # the events clients may see


def _stored(row) -> StoredEvent:
    return StoredEvent(row["event_id"], row["stream_ordering"], row["state_group"],
                       json.loads(row["json"]), row["redacted_by"], bool(row["outlier"]),
                       bool(row["soft_failed"]))
