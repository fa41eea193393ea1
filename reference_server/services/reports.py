# SPDX-License-Identifier: Apache-2.0
"""Reporting content: users tell the server an event, a room or a user is inappropriate.

Spec: client-server-api/#reporting-content. The server answers 404 M_NOT_FOUND for a
subject it does not know (or, for an event, when the reporter is not joined to its room).
Since v1.18 a server MAY hide existence by answering 200 regardless; this one prefers the
plain answer, which the spec still allows and which tells clients when they mistyped.
"""
from __future__ import annotations

from collections.abc import Callable

from .. import errors
from ..storage.database import Database
from ..storage.reports import Report, ReportStore
from ..types import EventId, RoomId, UserId

_EVENT_NOT_FOUND = "The event was not found or you are not joined to its room."


class ReportService:
    def __init__(self, *, db: Database, store: ReportStore,
                 room_exists: Callable[[RoomId], bool],
                 room_of_event: Callable[[EventId], RoomId | None],
                 membership: Callable[[RoomId, UserId], str | None],
                 user_exists: Callable[[UserId], bool],
                 clock: Callable[[], int]) -> None:
        self._db = db
        self._store = store
        self._room_exists = room_exists
        self._room_of_event = room_of_event
        self._membership = membership
        self._user_exists = user_exists
        self._clock = clock

    def report_event(self, reporter: UserId, room_id: RoomId, event_id: EventId,
                     reason: str | None, score: int | None) -> None:
        """Since v1.8 only a member of the room may report its events."""
        if (self._room_of_event(event_id) != room_id
                or self._membership(room_id, reporter) != "join"):
            raise errors.not_found(_EVENT_NOT_FOUND)
        self._add(Report(reporter=reporter, received_ts=self._clock(), reason=reason,
                         room_id=room_id, event_id=event_id, score=score))

    def report_room(self, reporter: UserId, room_id: RoomId, reason: str) -> None:
        """Anyone may report a room the server knows, joined or not."""
        if not self._room_exists(room_id):
            raise errors.not_found("The room was not found.")
        self._add(Report(reporter=reporter, received_ts=self._clock(), reason=reason,
                         room_id=room_id))

    def report_user(self, reporter: UserId, user_id: UserId, reason: str) -> None:
        """Anyone may report a user the server knows, sharing a room or not."""
        if not self._user_exists(user_id):
            raise errors.not_found("The user was not found.")
        self._add(Report(reporter=reporter, received_ts=self._clock(), reason=reason,
                         user_id=user_id))

    def _add(self, report: Report) -> None:
        with self._db.transaction():
            self._store.add(report)
