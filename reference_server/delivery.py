# SPDX-License-Identifier: Apache-2.0
"""Persistent, ordered delivery queues with one worker task per destination.

Both federation (other servers) and application services need the same thing: items
written to an outbox table in the same transaction as the change that caused them, sent
in order in batches, one batch in flight per destination. A batch that fails is retried
unchanged, under the same ID, with exponential backoff, before anything else goes to
that destination (spec: server-server `PUT /send/{txnId}` and application service
transactions both treat a repeated ID as a retry). IDs are this run's start time and a
counter, so they never repeat even when the outbox's row IDs are reused.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from .storage.database import Database
from .storage.outbox import OutboxStore
from .types import JsonDict

log = logging.getLogger(__name__)

FIRST_BACKOFF_S, MAX_BACKOFF_S = 1.0, 600.0

# send(destination, batch_id, first_kind_items, second_kind_items) -> accepted?
Send = Callable[[str, str, list[JsonDict], list[JsonDict]], Awaitable[bool]]


class DeliveryQueues:
    def __init__(self, *, db: Database, outbox: OutboxStore, kinds: tuple[str, str],
                 limits: tuple[int, int], send: Send, clock) -> None:
        self._db = db
        self._outbox = outbox
        self._kinds = kinds
        self._limits = limits
        self._send = send
        self._wakeups: dict[str, trio.Event] = {}
        self._nursery: trio.Nursery | None = None
        self._batch_prefix = str(clock())
        self._batch_count = 0

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
            self._outbox.add(destination, kind, body)

    def flush(self, destinations: set[str]) -> None:
        """Wake the destinations' tasks once the caller's transaction has committed."""
        for destination in destinations:
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
        while True:
            await self._wakeups[destination].wait()
            self._wakeups[destination] = trio.Event()
            while True:
                ids, first, second = self._outbox.next_batch(
                    destination, pdus=self._limits[0], edus=self._limits[1], kinds=self._kinds)
                if not ids:
                    break
                await self._until_accepted(destination, self._next_batch_id(), first, second)
                with self._db.transaction():
                    self._outbox.remove(ids)

    async def _until_accepted(self, destination: str, batch_id: str, first: list[JsonDict],
                              second: list[JsonDict]) -> None:
        backoff = FIRST_BACKOFF_S
        while not await self._send(destination, batch_id, first, second):
            log.info("delivery to %s failed; retrying in %.0f s", destination, backoff)
            await trio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _next_batch_id(self) -> str:
        self._batch_count += 1
        return f"{self._batch_prefix}-{self._batch_count}"
