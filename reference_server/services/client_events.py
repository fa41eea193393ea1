# SPDX-License-Identifier: Apache-2.0
"""Turning stored PDUs into the client-server event format.

Clients never see PDU internals (hashes, signatures, prev/auth events, depth). Redacted
events are served redacted, with the redaction in `unsigned.redacted_because`, and the
sender's own device sees its `transaction_id`.
"""
from __future__ import annotations

from ..protocol.redaction import redact
from ..protocol.room_versions import RoomVersion
from ..storage.events import EventStore, StoredEvent
from ..types import JsonDict, RoomId
from .clock import now_ms

_CLIENT_KEYS = ("content", "event_id", "origin_server_ts", "room_id", "sender", "state_key",
                "type", "redacts")


class ClientEventFormatter:
    def __init__(self, events: EventStore) -> None:
        self._events = events

    def format(self, stored: StoredEvent, version: RoomVersion, room_id: RoomId, *,
               txn_owner: tuple[str, str | None] | None = None,
               membership: str | None = None, include_room_id: bool = True) -> JsonDict:
        pdu = stored.pdu
        unsigned: JsonDict = {}
        if stored.redacted_by:
            pdu = redact(pdu, version)
            because = self._events.get(stored.redacted_by)
            if because is not None:
                unsigned["redacted_because"] = self._plain(because, room_id)
        event = {k: pdu[k] for k in _CLIENT_KEYS if k in pdu}
        event["event_id"] = stored.event_id
        event["room_id"] = room_id
        if "redacts" not in event and isinstance(pdu["content"].get("redacts"), str):
            # v11+ keeps `redacts` in content; clients still get the top-level copy.
            event["redacts"] = pdu["content"]["redacts"]
        if not include_room_id:
            event.pop("room_id")
        unsigned["age"] = max(0, now_ms() - pdu["origin_server_ts"])
        if membership is not None:
            unsigned["membership"] = membership
        if txn_owner is not None:
            txn_id = self._txn_for(stored, txn_owner)
            if txn_id is not None:
                unsigned["transaction_id"] = txn_id
        if "state_key" in pdu:
            self._add_prev_content(pdu, unsigned)
        event["unsigned"] = unsigned
        return event

    def _plain(self, stored: StoredEvent, room_id: RoomId) -> JsonDict:
        event = {k: stored.pdu[k] for k in _CLIENT_KEYS if k in stored.pdu}
        event["event_id"] = stored.event_id
        event["room_id"] = room_id
        return event

    def _add_prev_content(self, pdu: JsonDict, unsigned: JsonDict) -> None:
        prev_state = pdu.get("unsigned", {}).get("replaces_state")
        if prev_state:
            prev = self._events.get(prev_state)
            if prev is not None:
                unsigned["replaces_state"] = prev_state
                unsigned["prev_content"] = prev.pdu.get("content", {})
                unsigned["prev_sender"] = prev.pdu.get("sender")

    def _txn_for(self, stored: StoredEvent, owner: tuple[str, str | None]) -> str | None:
        user_id, device_id = owner
        if stored.pdu.get("sender") != user_id or device_id is None:
            return None
        return self._events.txn_of(stored.event_id, user_id, device_id)
