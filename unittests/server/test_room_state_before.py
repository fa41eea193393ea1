# SPDX-License-Identifier: Apache-2.0
"""The state before an event whose parents this server holds only as outliers.

A room joined over federation starts with the join: its prev_events are the resident's
events, which are stored as outliers without state. The state before the join is then
its own state less the membership it sets, so that /sync can show the room's state to
the user who joined (client-server-api/#get_matrixclientv3sync: the state up to the
start of the timeline).
"""
from __future__ import annotations

from reference_server.services.events import RoomEvents
from reference_server.services.notifier import Notifier
from reference_server.storage.database import Database
from reference_server.storage.events import EventStore
from reference_server.storage.rooms import RoomStore
from reference_server.storage.state import StateStore

ROOM = "!harbour:there.example"


def _event(event_id: str, event_type: str, state_key: str, prev: list[str]) -> tuple[str, dict]:
    return event_id, {"type": event_type, "state_key": state_key, "room_id": ROOM,
                      "sender": "@a:there.example", "content": {}, "prev_events": prev,
                      "auth_events": [], "depth": 1, "origin_server_ts": 0}


def test_the_first_event_after_outlier_parents_has_its_own_state_less_itself() -> None:
    db = Database(":memory:")
    events, state = EventStore(db), StateStore(db)
    room_events = RoomEvents(db=db, events=events, state=state, rooms=RoomStore(db),
                             notifier=Notifier(), server_name="here.example", signing_key=None)
    create_id, create = _event("$create", "m.room.create", "", [])
    name_id, name = _event("$name", "m.room.name", "", [create_id])
    join_id, join = _event("$join", "m.room.member", "@b:here.example", [name_id])
    with db.transaction():
        for event_id, pdu in ((create_id, create), (name_id, name)):
            events.insert(event_id, pdu, room_id=ROOM, stream_ordering=db.next_stream_id(),
                          state_group=None, outlier=True)
        group = state.create_group(ROOM, None, {("m.room.create", ""): create_id,
                                                ("m.room.name", ""): name_id,
                                                ("m.room.member", "@b:here.example"): join_id})
        events.insert(join_id, join, room_id=ROOM, stream_ordering=db.next_stream_id(),
                      state_group=group)

    assert room_events.state_before(events.get(join_id)) == {
        ("m.room.create", ""): create_id, ("m.room.name", ""): name_id}
