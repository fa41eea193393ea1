# SPDX-License-Identifier: Apache-2.0
"""The answers given to transactions other servers pushed (PUT /send/{txnId}).

A sending server retries a transaction under the same ID until it gets an answer
(server-server-api/#transactions), so the answer is kept: a retry — even one that
arrives after a restart — gets it again and nothing is processed twice.
"""
from __future__ import annotations

import json

from ..types import JsonDict
from .database import Database

KEEP_MS = 24 * 60 * 60 * 1000


class InboundTransactionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def answer(self, origin: str, txn_id: str) -> JsonDict | None:
        """The answer given to `origin`'s transaction `txn_id`, if it was processed."""
        row = self._db.one("SELECT response FROM inbound_transactions WHERE origin = ?"
                           " AND txn_id = ?", (origin, txn_id))
        return json.loads(row["response"]) if row else None

    def record(self, origin: str, txn_id: str, answer: JsonDict, *, now_ms: int) -> None:
        """Keep the answer; answers older than KEEP_MS go (a sender retries for minutes,
        not days)."""
        with self._db.transaction():
            self._db.execute("DELETE FROM inbound_transactions WHERE received_ts < ?",
                             (now_ms - KEEP_MS,))
            self._db.execute("INSERT INTO inbound_transactions (origin, txn_id, response,"
                             " received_ts) VALUES (?, ?, ?, ?) ON CONFLICT (origin, txn_id)"
                             " DO UPDATE SET response = excluded.response,"
                             " received_ts = excluded.received_ts",
                             (origin, txn_id, json.dumps(answer), now_ms))
