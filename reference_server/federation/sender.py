# SPDX-License-Identifier: Apache-2.0
"""Sending PDUs and EDUs to other servers: one queue per destination, persisted.

Spec (server-server, transactions): at most 50 PDUs and 100 EDUs per transaction, and a
destination receives one transaction at a time. Items go to the outbox table in the
same transaction as the event that caused them, so a restart loses nothing; a failed
destination is retried with exponential backoff.
"""
from __future__ import annotations

import logging

import trio

from ..storage.database import Database
from ..storage.outbox import OutboxStore
from ..types import JsonDict
from .client import FederationClient, FederationError

log = logging.getLogger(__name__)

MAX_PDUS, MAX_EDUS = 50, 100
FIRST_BACKOFF_S, MAX_BACKOFF_S = 1.0, 600.0


class FederationSender:
    def __init__(self, *, db: Database, outbox: OutboxStore, client: FederationClient,
                 server_name: str, clock) -> None:
        self._db = db
        self._outbox = outbox
        self._client = client
        self._server_name = server_name
        self._clock = clock
        self._wakeups: dict[str, trio.Event] = {}
        self._nursery: trio.Nursery | None = None
        # Transaction IDs: this run's start time and a counter, so that no two
        # transactions of any run share an ID (receivers drop a repeated one as a retry).
        self._txn_prefix = str(clock())
        self._txn_count = 0

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Own one task per destination for as long as the server runs."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for destination in self._outbox.destinations():
                self._wake(destination)
            task_status.started()
            await trio.sleep_forever()

    def queue(self, destinations: set[str], kind: str, body: JsonDict) -> None:
        """Add an item for each destination (call inside the caller's DB transaction)."""
        for destination in destinations:
            if destination != self._server_name:
                self._outbox.add(destination, kind, body)

    def flush(self, destinations: set[str]) -> None:
        """Wake the destinations' tasks once the caller's transaction has committed."""
        for destination in destinations:
            if destination != self._server_name:
                self._wake(destination)

    def _wake(self, destination: str) -> None:
        event = self._wakeups.get(destination)
        if event is not None:
            event.set()
            return
        self._wakeups[destination] = trio.Event()
        self._wakeups[destination].set()
        if self._nursery is not None:
            self._nursery.start_soon(self._deliver, destination)

    async def _deliver(self, destination: str) -> None:
        backoff = FIRST_BACKOFF_S
        while True:
            await self._wakeups[destination].wait()
            self._wakeups[destination] = trio.Event()
            while True:
                ids, pdus, edus = self._outbox.next_batch(destination, pdus=MAX_PDUS,
                                                          edus=MAX_EDUS)
                if not ids:
                    break
                # Spec (PUT /send/{txnId}): a failed transaction is retried, unchanged and
                # under its ID, until it is answered 200; only then may another be sent.
                txn_id = self._next_txn_id()
                while not await self._send(destination, txn_id, pdus, edus):
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                with self._db.transaction():
                    self._outbox.remove(ids)
                backoff = FIRST_BACKOFF_S

    def _next_txn_id(self) -> str:
        self._txn_count += 1
        return f"{self._txn_prefix}-{self._txn_count}"

    async def _send(self, destination: str, txn_id: str, pdus: list[JsonDict],
                    edus: list[JsonDict]) -> bool:
        body = {"origin": self._server_name, "origin_server_ts": self._clock(),
                "pdus": pdus, "edus": edus}
        try:
            await self._client.request("PUT", destination,
                                       f"/_matrix/federation/v1/send/{txn_id}",
                                       body=body)
        except FederationError as error:
            log.info("transaction to %s failed: %s", destination, error)
            return False
        return True
