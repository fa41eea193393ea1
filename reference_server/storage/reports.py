# SPDX-License-Identifier: Apache-2.0
"""Reports of inappropriate content, kept for the server's administrators."""
from __future__ import annotations

from dataclasses import dataclass

from .database import Database


@dataclass(frozen=True)
class Report:
    """One report: who sent it, about what (an event, a room or a user), and why."""
    reporter: str
    received_ts: int
    reason: str | None = None
    room_id: str | None = None
    event_id: str | None = None
    user_id: str | None = None
    score: int | None = None


class ReportStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, report: Report) -> None:
        self._db.execute(
            "INSERT INTO content_reports (reporter, room_id, event_id, user_id, reason, score,"
            " received_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (report.reporter, report.room_id, report.event_id, report.user_id, report.reason,
             report.score, report.received_ts))
