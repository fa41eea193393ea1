# SPDX-License-Identifier: Apache-2.0
"""The DAG's edges in storage: which events have a child in the timeline, and outliers
that gain their place in it.

Spec: server-server-api/#pdus — prev_events of a new event are the events of the room
that have no child yet (forward extremities); an event held only as an outlier has no
place in the timeline until it is received for real.
"""
from __future__ import annotations

import json
import sqlite3

from reference_server.storage.database import Database
from reference_server.storage.events import EventStore
from reference_server.storage.schema import MIGRATIONS

ROOM = "!room:example.org"


def pdu(prev_events: list, *, body: str = "hi") -> dict:
    return {"type": "m.room.message", "sender": "@a:example.org", "room_id": ROOM,
            "depth": 2, "origin_server_ts": 1, "prev_events": prev_events,
            "content": {"body": body}}


def store(tmp_path) -> tuple[Database, EventStore]:
    db = Database(tmp_path / "db.sqlite")
    return db, EventStore(db)


def add(db: Database, events: EventStore, event_id: str, prevs: list, **flags) -> None:
    events.insert(event_id, pdu(prevs), room_id=ROOM, stream_ordering=db.next_stream_id(),
                  state_group=None, **flags)


def test_only_a_timeline_child_counts(tmp_path) -> None:
    db, events = store(tmp_path)
    add(db, events, "$parent", [])
    add(db, events, "$outlier_child", ["$parent"], outlier=True)
    add(db, events, "$soft_failed_child", ["$parent"], soft_failed=True)
    assert not events.has_timeline_child("$parent")
    add(db, events, "$child", ["$parent"])
    assert events.has_timeline_child("$parent")


def test_an_outlier_placed_later_keeps_its_row_and_moves_to_the_stream_head(tmp_path) -> None:
    db, events = store(tmp_path)
    add(db, events, "$parent", [])
    add(db, events, "$late", ["$parent"], outlier=True)
    events.mark_redacted("$late", "$redaction", {"type": "m.room.message", "content": {}})
    head = db.next_stream_id()

    events.place_outlier("$late", stream_ordering=head, state_group=7)

    placed = events.get("$late")
    assert (placed.outlier, placed.stream_ordering, placed.state_group) == (False, head, 7)
    assert placed.redacted_by == "$redaction" and placed.pdu["content"] == {}
    assert db.scalar("SELECT COUNT(*) FROM events WHERE event_id = '$late'") == 1
    assert events.has_timeline_child("$parent")


def test_the_migration_fills_the_edges_of_events_stored_before_it(tmp_path) -> None:
    """Events of both formats stored under the previous schema get their edges."""
    path = tmp_path / "old.sqlite"
    edges_step = next(i for i, step in enumerate(MIGRATIONS) if "event_edges" in step)
    _migrate_up_to(path, edges_step)
    _insert_raw(path, "$v1", pdu([["$a", {"sha256": "x"}], ["$b", {"sha256": "y"}]]))
    _insert_raw(path, "$v3", pdu(["$c"]))
    _insert_raw(path, "$create", pdu([]))

    db = Database(path)

    rows = db.all("SELECT event_id, prev_event_id FROM event_edges ORDER BY 1, 2")
    assert [tuple(r) for r in rows] == [("$v1", "$a"), ("$v1", "$b"), ("$v3", "$c")]


def _migrate_up_to(path, count: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:count]:
        script = script["sqlite"] if isinstance(script, dict) else script
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (?)", (count,))
    conn.close()


def _insert_raw(path, event_id: str, event: dict) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO events (event_id, room_id, type, sender, depth, origin_server_ts,"
                 " json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (event_id, ROOM, event["type"], event["sender"], 2, 1, json.dumps(event)))
    conn.close()
