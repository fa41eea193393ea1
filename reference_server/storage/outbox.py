# SPDX-License-Identifier: Apache-2.0
"""The federation outbox: what each destination still has to receive, in order."""
from __future__ import annotations

import json

from ..types import JsonDict
from .database import Database


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, destination: str, kind: str, body: JsonDict) -> None:
        self._db.execute("INSERT INTO federation_outbox (destination, kind, json) VALUES (?, ?, ?)",
                         (destination, kind, json.dumps(body)))

    def next_batch(self, destination: str, *, pdus: int, edus: int
                   ) -> tuple[list[int], list[JsonDict], list[JsonDict]]:
        """The oldest waiting items: at most `pdus` PDUs and `edus` EDUs, with their row IDs."""
        ids, pdu_list, edu_list = [], [], []
        for kind, limit, out in (("pdu", pdus, pdu_list), ("edu", edus, edu_list)):
            rows = self._db.all("SELECT id, json FROM federation_outbox WHERE destination = ?"
                                " AND kind = ? ORDER BY id LIMIT ?", (destination, kind, limit))
            ids.extend(row["id"] for row in rows)
            out.extend(json.loads(row["json"]) for row in rows)
        return ids, pdu_list, edu_list

    def remove(self, ids: list[int]) -> None:
        for row_id in ids:
            self._db.execute("DELETE FROM federation_outbox WHERE id = ?", (row_id,))

    def destinations(self) -> list[str]:
        return [r["destination"] for r in
                self._db.all("SELECT DISTINCT destination FROM federation_outbox")]
