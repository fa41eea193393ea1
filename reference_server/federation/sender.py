# SPDX-License-Identifier: Apache-2.0
"""Sending PDUs and EDUs to other servers (server-server, transactions).

At most 50 PDUs and 100 EDUs per transaction, one transaction in flight per
destination, persisted and retried by `DeliveryQueues`.
"""
from __future__ import annotations

import logging

from ..delivery import DeliveryQueues
from ..storage.database import Database
from ..storage.outbox import OutboxStore
from ..types import JsonDict
from .client import FederationClient, FederationError

log = logging.getLogger(__name__)

MAX_PDUS, MAX_EDUS = 50, 100


class FederationSender(DeliveryQueues):
    def __init__(self, *, db: Database, outbox: OutboxStore, client: FederationClient,
                 server_name: str, clock) -> None:
        super().__init__(db=db, outbox=outbox, kinds=("pdu", "edu"),
                         limits=(MAX_PDUS, MAX_EDUS), send=self._send_transaction, clock=clock)
        self._client = client
        self._server_name = server_name
        self._clock = clock

    def queue(self, destinations: set[str], kind: str, body: JsonDict) -> None:
        super().queue(destinations - {self._server_name}, kind, body)

    def flush(self, destinations: set[str]) -> None:
        super().flush(destinations - {self._server_name})

    def send_edu(self, destinations: set[str], edu: JsonDict) -> None:
        """Queue one EDU for each destination in its own transaction, then wake them."""
        if not destinations:
            return
        with self._db.transaction():
            self.queue(destinations, "edu", edu)
        self.flush(destinations)

    async def _send_transaction(self, destination: str, txn_id: str, pdus: list[JsonDict],
                                edus: list[JsonDict]) -> bool:
        body = {"origin": self._server_name, "origin_server_ts": self._clock(),
                "pdus": pdus, "edus": edus}
        try:
            await self._client.request("PUT", destination,
                                       f"/_matrix/federation/v1/send/{txn_id}", body=body)
        except FederationError as error:
            log.info("transaction to %s failed: %s", destination, error)
            return False
        return True
