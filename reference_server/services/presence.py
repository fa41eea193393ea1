# SPDX-License-Identifier: Apache-2.0
"""Presence (client-server, presence): what users say about their availability.

Stored on the stream /sync reads, so a change reaches everyone who shares a room with
the user, and offered to interested application services (MSC2409).
"""
from __future__ import annotations

from .. import errors
from ..storage.database import Database
from ..types import JsonDict, UserId
from .clock import now_ms
from .notifier import Notifier


class PresenceService:
    def __init__(self, *, db: Database, notifier: Notifier, shares_room) -> None:
        self._db = db
        self._notifier = notifier
        self._shares_room = shares_room  # (viewer, user) -> bool
        self._listeners: list = []

    def on_change(self, listener) -> None:
        """Call `listener(user_id, presence_event)` on every change."""
        self._listeners.append(listener)

    def set(self, requester: UserId, user_id: UserId, presence: str,
            status_msg: str | None) -> None:
        if requester != user_id:
            raise errors.forbidden("You may only set your own presence.")
        self._store(user_id, presence, status_msg, last_active_ts=now_ms())

    def set_remote(self, user_id: UserId, presence: str, status_msg: str | None, *,
                   last_active_ago: int) -> None:
        """A presence update another server sent for one of its users (an m.presence EDU)."""
        self._store(user_id, presence, status_msg,
                    last_active_ts=now_ms() - max(0, last_active_ago))

    def _store(self, user_id: UserId, presence: str, status_msg: str | None, *,
               last_active_ts: int) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO presence (user_id, presence, status_msg, last_active_ts, stream_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " presence = excluded.presence, status_msg = excluded.status_msg,"
                " last_active_ts = excluded.last_active_ts, stream_id = excluded.stream_id",
                (user_id, presence, status_msg, last_active_ts, self._db.next_stream_id()))
        self._notifier.notify()
        event = self.event_for(user_id)
        for listener in self._listeners:
            listener(user_id, event)

    def get(self, viewer: UserId, user_id: UserId) -> JsonDict:
        if viewer != user_id and not self._shares_room(viewer, user_id):
            raise errors.forbidden("You share no room with that user.")
        event = self.event_for(user_id)
        if event is None:
            raise errors.not_found("No presence known for that user.")
        return event["content"]

    def event_for(self, user_id: UserId) -> JsonDict | None:
        row = self._db.one("SELECT * FROM presence WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        content: JsonDict = {"presence": row["presence"],
                             "last_active_ago": max(0, now_ms() - row["last_active_ts"]),
                             "currently_active": row["presence"] == "online"}
        if row["status_msg"] is not None:
            content["status_msg"] = row["status_msg"]
        return {"type": "m.presence", "sender": user_id, "content": content}

    def changed_since(self, users: set[UserId], since: int) -> list[JsonDict]:
        if not users:
            return []
        marks = ",".join("?" * len(users))
        rows = self._db.all(f"SELECT user_id FROM presence WHERE user_id IN ({marks})"
                            " AND stream_id > ?", (*users, since))
        return [e for e in (self.event_for(r["user_id"]) for r in rows) if e is not None]
