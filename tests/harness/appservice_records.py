# SPDX-License-Identifier: Apache-2.0
"""Which of the shared fake application service's records belong to one test.

The service is shared by every test of the run, so a test must pick out its own
traffic. Each test has a tag, and the users and aliases it hands out carry it
(`@confas_<tag>_1:hs`); a record is the test's when it names one of those, an ID the test
named explicitly (an answer it set, a room it asked about), or a room one of its users
was seen in. Faults follow the same rule. A fault that names nobody (a wrong token, an
unknown path) is claimed through the spool by the first test that ends after it
arrived, so it fails exactly one test, with a note that it is not necessarily that
test's doing.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.harness.appservice_spool import Spool, ephemeral_of, events_of, identifiers_in

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Transaction:
    """One transaction (every attempt of one txnId), narrowed to what was asked about."""

    txn_id: str
    body: JsonDict  # as first delivered
    statuses: tuple[int | None, ...]  # the service's answer to each attempt, in order
    events: tuple[JsonDict, ...]  # the room events that matched
    ephemeral: tuple[JsonDict, ...]  # the ephemeral data that matched

    @property
    def attempts(self) -> int:
        return len(self.statuses)

    @property
    def duplicates(self) -> int:
        """Deliveries after one was already accepted (did the homeserver miss our 200?)."""
        accepted = [i for i, s in enumerate(self.statuses) if s is not None and s < 300]
        return len(self.statuses) - accepted[0] - 1 if accepted else 0


@dataclass(frozen=True)
class Query:
    """A user or alias query the target made, and what the service answered."""

    kind: str  # "user" or "alias"
    id: str
    status: int | None
    legacy: bool  # sent to the unprefixed legacy path


class Records:
    """The records since one test began, and which of them are that test's. Thread-safe."""

    def __init__(self, spool: Spool, tag: str, *, start: int) -> None:
        self.spool = spool
        self.tag = tag
        self.start = self.seen = start
        self.ids: set[str] = set()  # IDs the test named besides its tagged ones
        self.rooms: set[str] = set()
        self.ping_ids: set[str] = set()
        self.ping_seqs: set[int] = set()  # pings without a transaction ID the test caused
        self.answered: dict[int, int] = {}  # held query seq -> status the test's callback gave
        self.lock = threading.RLock()
        self._records: list[JsonDict] = []
        self._reported: set[int] = set()

    def all(self) -> list[JsonDict]:
        with self.lock:
            return list(self._records)

    def refresh(self) -> list[JsonDict]:
        """Reads the records that arrived since the last call; returns them."""
        with self.lock:
            new = self.spool.records_after(self.seen)
            for record in new:
                self._learn_rooms(record)
            self._records += new
            self.seen = new[-1]["seq"] if new else self.seen
            return new

    def _learn_rooms(self, record: JsonDict) -> None:
        """A room one of the test's users is seen in is the test's room."""
        body = record.get("body")
        for item in events_of(body) + ephemeral_of(body):
            room = item.get("room_id")
            people = [name for name in identifiers_in([item]) if not name.startswith("!")]
            if isinstance(room, str) and any(self.owns(name) for name in people):
                self.rooms.add(room)

    def owns(self, identifier: str) -> bool:
        return f"_{self.tag}_" in identifier or identifier in self.ids or identifier in self.rooms

    def is_mine(self, record: JsonDict) -> bool:
        if record.get("kind") == "ping":
            return record.get("transaction_id") in self.ping_ids or record["seq"] in self.ping_seqs
        return any(self.owns(name) for name in record.get("about", []))

    # -- views on the records ----------------------------------------------------------------

    def transactions_about(self, room_id: str | None = None,
                           user_id: str | None = None) -> list[Transaction]:
        """Transactions holding data of the room and/or user (neither: of the test)."""
        self.refresh()
        attempts: dict[str, list[JsonDict]] = {}
        for record in self.all():
            if record.get("kind") == "transaction":
                attempts.setdefault(record["txn_id"], []).append(record)
        wanted = self._matcher(room_id, user_id)
        found = []
        for txn_id, records in attempts.items():
            body = records[0].get("body") if isinstance(records[0].get("body"), dict) else {}
            events = tuple(item for item in events_of(body) if wanted(item))
            ephemeral = tuple(item for item in ephemeral_of(body) if wanted(item))
            if events or ephemeral:
                found.append(Transaction(txn_id, body, tuple(r["status"] for r in records),
                                         events, ephemeral))
        return found

    def _matcher(self, room_id: str | None, user_id: str | None) -> Callable[[JsonDict], bool]:
        def wanted(item: JsonDict) -> bool:
            named = identifiers_in([item])
            if room_id is None and user_id is None:
                return any(self.owns(name) for name in named)
            return ((room_id is None or item.get("room_id") == room_id)
                    and (user_id is None or user_id in named))
        return wanted

    def queries(self) -> list[Query]:
        self.refresh()
        return [Query("user" if r["kind"] == "user_query" else "alias",
                      r.get("user_id") or r.get("alias") or "",
                      r.get("status") or self.answered.get(r["seq"]), bool(r.get("legacy")))
                for r in self.all()
                if r.get("kind") in ("user_query", "alias_query") and self.is_mine(r)]

    def pings(self, transaction_id: str | None = None) -> list[JsonDict]:
        self.refresh()
        pings = [r for r in self.all() if r.get("kind") == "ping"]
        if transaction_id is not None:
            return [r.get("body") or {} for r in pings
                    if (r.get("body") or {}).get("transaction_id") == transaction_id]
        return [r.get("body") or {} for r in pings if self.is_mine(r)]

    def claim_pings_without_id(self, *, after: int) -> None:
        """Pings without a transaction ID that arrived after record `after` are the
        test's: only a service's own request makes a homeserver ping it."""
        self.refresh()
        with self.lock:
            self.ping_seqs.update(r["seq"] for r in self._records if r["seq"] > after
                                  and r.get("kind") == "ping"
                                  and not isinstance(r.get("transaction_id"), str))

    # -- faults --------------------------------------------------------------------------------

    def new_faults(self) -> list[str]:
        """Faults about the test not returned before (each is also claimed in the spool)."""
        found: list[str] = []
        with self.lock:
            for record in self._records:
                if record.get("faults") and record["seq"] not in self._reported \
                        and self.is_mine(record):
                    self._reported.add(record["seq"])
                    self.spool.claim(record["seq"])
                    found += record["faults"]
        return found

    def unattributed_faults(self) -> list[str]:
        """Faults naming nobody that arrived while the test ran and no test claimed yet."""
        found: list[str] = []
        for record in self.all():
            # A ping is never nameless: only a test's request makes the target send one,
            # and that test claims it (a ping no test claims shows in the run's summary).
            nameless = (not record.get("about") and not record.get("transaction_id")
                        and record.get("kind") != "ping")
            if record.get("faults") and nameless and self.spool.claim(record["seq"]):
                found += [f"{fault} [not tied to any test; it arrived while this one ran]"
                          for fault in record["faults"]]
        return found

    def describe_recent(self, count: int = 10) -> list[str]:
        """Lines saying what arrived lately, for a failed wait."""
        recent = self.all()[-count:]
        if not recent:
            return ["  it received nothing while this test ran: has the target loaded the "
                    "registration, and can it reach the url in it?"]
        lines = ["  while this test ran it received: " + "; ".join(
            f"{r.get('method')} {r.get('path')} → {r.get('status')}"
            + (" [this test's]" if self.is_mine(r) else "") for r in recent)]
        return lines + [f"  fault meanwhile: {f}" for r in recent for f in r.get("faults", [])]
