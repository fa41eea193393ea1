# SPDX-License-Identifier: Apache-2.0
"""Caches in front of the database forget what a rolled-back transaction wrote.

An event read back inside a transaction that then fails would otherwise stay "known":
a retry of the same PDU would be taken as a duplicate and never stored.
"""
from __future__ import annotations

import pytest

from reference_server.storage.database import Database
from reference_server.storage.events import EventStore

ROOM = "!room:a.test"
PDU = {"type": "m.room.message", "sender": "@a:a.test", "depth": 3, "origin_server_ts": 1,
       "room_id": ROOM, "prev_events": ["$parent"], "content": {"body": "hi"}}


class Abort(Exception):
    """Makes the transaction fail after its writes."""


def test_an_event_read_inside_a_rolled_back_transaction_is_not_known_afterwards(tmp_path):
    db = Database(tmp_path / "db.sqlite")
    events = EventStore(db)
    with pytest.raises(Abort), db.transaction():
        events.insert("$ghost", PDU, room_id=ROOM, stream_ordering=db.next_stream_id(),
                      state_group=None)
        assert events.get("$ghost") is not None
        raise Abort

    assert events.get("$ghost") is None
