# SPDX-License-Identifier: Apache-2.0
"""The federation sender's transactions: retried unchanged until answered, new IDs after.

Spec: server-server-api/#put_matrixfederationv1sendtxnid — the sending server must retry
a transaction until it gets a 200 answer before sending one with a different `txnId`,
and the receiver takes a repeated `txnId` for a retry. Runs on trio's mock clock, so the
sender's backoff takes no real time.
"""
from __future__ import annotations

import trio
import trio.testing

from reference_server.federation.client import FederationError
from reference_server.federation.sender import FederationSender
from reference_server.storage.database import Database
from reference_server.storage.outbox import OutboxStore


class FlakyDestination:
    """Answers `send` requests, failing the first `failures` of them."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[str, list, bool]] = []

    async def request(self, method, destination, path, *, body=None, **_):
        ok = len(self.calls) >= self.failures
        self.calls.append((path.rsplit("/", 1)[1], [p["n"] for p in body["pdus"]], ok))
        if not ok:
            raise FederationError("down", status=500)
        return {"pdus": {}}


def _run(failures: int, batches: list[list[int]]) -> list[tuple[str, list, bool]]:
    """Queues each batch once the destination has answered everything before it."""
    destination = FlakyDestination(failures)

    async def main() -> None:
        db = Database(":memory:")
        sender = FederationSender(db=db, outbox=OutboxStore(db), client=destination,
                                  server_name="here.example", clock=lambda: 1700)
        async with trio.open_nursery() as nursery:
            await nursery.start(sender.run)
            for batch in batches:
                calls_before = len(destination.calls)
                with db.transaction():
                    for n in batch:
                        sender.queue({"there.example"}, "pdu", {"n": n})
                sender.flush({"there.example"})
                while len(destination.calls) == calls_before:
                    await trio.sleep(0.5)
            while not destination.calls or not destination.calls[-1][2] or \
                    sum(len(c[1]) for c in destination.calls if c[2]) < sum(map(len, batches)):
                await trio.sleep(0.5)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return destination.calls


def test_a_failed_transaction_is_retried_unchanged_before_any_other() -> None:
    calls = _run(failures=1, batches=[[1], [2]])
    assert calls == [("1700-1", [1], False), ("1700-1", [1], True), ("1700-2", [2], True)]


def test_transactions_never_reuse_an_id_once_the_outbox_has_emptied() -> None:
    calls = _run(failures=0, batches=[[1], [2], [3]])
    assert [c[0] for c in calls] == ["1700-1", "1700-2", "1700-3"]


def test_a_transaction_holds_at_most_50_pdus() -> None:
    calls = _run(failures=1, batches=[[0], list(range(1, 61))])
    assert [len(c[1]) for c in calls] == [1, 1, 50, 10]
