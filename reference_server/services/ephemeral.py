# SPDX-License-Identifier: Apache-2.0
"""Receipts and read markers, account data and filters: small per-user stores with rules."""
from __future__ import annotations

from .. import errors
from ..storage.account_data import AccountDataStore, FilterStore
from ..storage.database import Database
from ..storage.receipts import ReceiptStore
from ..types import EventId, JsonDict, RoomId, UserId
from .clock import now_ms
from .notifier import Notifier

# Spec (client-server, account data): types the server manages itself.
SERVER_MANAGED_TYPES = ("m.fully_read", "m.push_rules")


class ReceiptService:
    def __init__(self, *, db: Database, receipts: ReceiptStore, account_data: AccountDataStore,
                 notifier: Notifier) -> None:
        self._db = db
        self._receipts = receipts
        self._account_data = account_data
        self._notifier = notifier
        self._listeners: list = []

    def post(self, room_id: RoomId, user_id: UserId, receipt_type: str, event_id: EventId,
             thread_id: str | None) -> None:
        with self._db.transaction():
            if receipt_type == "m.fully_read":
                self._account_data.put(user_id, room_id, "m.fully_read", {"event_id": event_id})
            else:
                ts = now_ms()
                self._receipts.put(room_id, receipt_type, user_id, thread_id, event_id, ts=ts)
        self._notifier.notify()
        if receipt_type != "m.fully_read":
            for listener in self._listeners:
                listener(room_id, user_id, receipt_type, event_id, ts, thread_id)

    def on_receipt(self, listener) -> None:
        """Call `listener(room, user, type, event, ts, thread)` per receipt (federation relays it)."""
        self._listeners.append(listener)

    def receipt_event(self, room_id: RoomId, since: int, viewer: UserId) -> JsonDict | None:
        """The m.receipt EDU content for receipts after `since`; private ones only for their owner."""
        content: JsonDict = {}
        for row in self._receipts.since(room_id, since):
            if row["receipt_type"] == "m.read.private" and row["user_id"] != viewer:
                continue
            data: JsonDict = {"ts": row["ts"]}
            if row["thread_id"]:
                data["thread_id"] = row["thread_id"]
            content.setdefault(row["event_id"], {}).setdefault(
                row["receipt_type"], {})[row["user_id"]] = data
        return {"type": "m.receipt", "content": content} if content else None


class AccountDataService:
    def __init__(self, *, db: Database, store: AccountDataStore, notifier: Notifier) -> None:
        self._db = db
        self._store = store
        self._notifier = notifier

    def put(self, user_id: UserId, room_id: RoomId | None, data_type: str, content: JsonDict) -> None:
        if data_type in SERVER_MANAGED_TYPES:
            # Spec (client config, server behaviour): refused with 405, errcode M_BAD_JSON.
            raise errors.MatrixError(405, "M_BAD_JSON",
                                     f"{data_type} is managed by the server and cannot be set here.")
        with self._db.transaction():
            self._store.put(user_id, room_id, data_type, content)
        self._notifier.notify()

    def find(self, user_id: UserId, room_id: RoomId | None, data_type: str) -> JsonDict | None:
        """The stored content, or None when the user has none of this type."""
        return self._store.get(user_id, room_id, data_type)

    def get(self, user_id: UserId, room_id: RoomId | None, data_type: str) -> JsonDict:
        content = self._store.get(user_id, room_id, data_type)
        if content is None:
            raise errors.not_found("No account data of that type.")
        return content

    def changed_since(self, user_id: UserId, since: int) -> dict[str, dict[str, JsonDict]]:
        return self._store.changed_since(user_id, since)


class FilterService:
    def __init__(self, *, db: Database, store: FilterStore) -> None:
        self._db = db
        self._store = store

    def define(self, user_id: UserId, definition: JsonDict) -> str:
        with self._db.transaction():
            return str(self._store.add(user_id, definition))

    def get(self, user_id: UserId, filter_id: str) -> JsonDict:
        if not filter_id.isdigit():
            raise errors.not_found("No such filter.")
        found = self._store.get(user_id, int(filter_id))
        if found is None:
            raise errors.not_found("No such filter.")
        return found
