# SPDX-License-Identifier: Apache-2.0
"""Outboxes: what each destination (a server, or an application service) still has to
receive, in order. One implementation serves both tables."""
from __future__ import annotations

import json

from ..types import JsonDict
from .database import Database


class OutboxStore:
    def __init__(self, db: Database, *, table: str = "federation_outbox",
                 key: str = "destination") -> None:
        self._db = db
        self._table = table  # fixed names chosen by the code, never from input
        self._key = key

    def add(self, destination: str, kind: str, body: JsonDict) -> None:
        self._db.execute(f"INSERT INTO {self._table} ({self._key}, kind, json) VALUES (?, ?, ?)",
                         (destination, kind, json.dumps(body)))

    def next_batch(self, destination: str, *, pdus: int, edus: int,
                   kinds: tuple[str, str] = ("pdu", "edu")
                   ) -> tuple[list[int], list[JsonDict], list[JsonDict]]:
        """The oldest waiting items: at most `pdus` of the first kind and `edus` of the
        second, with their row IDs."""
        ids, pdu_list, edu_list = [], [], []
        for kind, limit, out in ((kinds[0], pdus, pdu_list), (kinds[1], edus, edu_list)):
            rows = self._db.all(f"SELECT id, json FROM {self._table} WHERE {self._key} = ?"
                                " AND kind = ? ORDER BY id LIMIT ?", (destination, kind, limit))
            ids.extend(row["id"] for row in rows)
            out.extend(json.loads(row["json"]) for row in rows)
        return ids, pdu_list, edu_list

    def remove(self, ids: list[int]) -> None:
        for row_id in ids:
            self._db.execute(f"DELETE FROM {self._table} WHERE id = ?", (row_id,))

    def destinations(self) -> list[str]:
        return [r[self._key] for r in
                self._db.all(f"SELECT DISTINCT {self._key} FROM {self._table}")]
