# SPDX-License-Identifier: Apache-2.0
"""PUT /send/{txnId}: each transaction is processed once, also across a restart.

Spec: server-server-api/#transactions — a sender retries a transaction under the same
ID until it is answered; #put_matrixfederationv1sendtxnid — every PDU gets its own
result, and one that is refused does not stop the others.
"""
from __future__ import annotations

import trio

from reference_server.federation.pdu_checks import PduRejected
from reference_server.handlers.federation.transactions import TransactionHandlers
from reference_server.http.request import Request
from reference_server.storage.database import Database, open_database
from reference_server.storage.inbound_transactions import KEEP_MS, InboundTransactionStore


class _Remote:
    """Accepts every PDU except those whose body says "bad"; counts what it processed."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def receive_from(self, origin, room_id, pdu):
        self.received.append(pdu["event_id"])
        if pdu["content"].get("body") == "bad":
            raise PduRejected("not allowed by the state before it")
        return type("Stored", (), {"event_id": pdu["event_id"]})

    def event_id_of(self, room_id, pdu):
        return pdu["event_id"]


def _pdu(event_id: str, body: str) -> dict:
    return {"event_id": event_id, "room_id": "!r:a.test", "content": {"body": body}}


def _handlers(db: Database, remote: _Remote) -> TransactionHandlers:
    return TransactionHandlers(remote=remote, typing=None, receipts=None, presence=None,
                               transactions=InboundTransactionStore(db), clock=lambda: 1,
                               is_member_room=lambda room_id: True,
                               acl_allows=lambda origin, room_id: True)


def _send(handlers: TransactionHandlers, txn_id: str, pdus: list[dict]) -> dict:
    request = Request("sendTransaction", {"origin": "b.test", "pdus": pdus}, {"txnId": txn_id},
                      {}, None, origin="b.test")
    return trio.run(handlers.send_transaction, request)


def test_each_pdu_has_its_own_result() -> None:
    answer = _send(_handlers(Database(":memory:"), _Remote()), "t1",
                   [_pdu("$bad", "bad"), _pdu("$good", "good")])
    assert answer["pdus"]["$good"] == {}
    assert "not allowed" in answer["pdus"]["$bad"]["error"]


def test_a_retry_is_answered_the_same_without_processing_again(database_target) -> None:
    remote = _Remote()
    pdus = [_pdu("$bad", "bad"), _pdu("$good", "good")]
    first = _send(_handlers(open_database(database_target), remote), "t1", pdus)

    restarted = _handlers(open_database(database_target), remote)
    assert _send(restarted, "t1", pdus) == first
    assert remote.received == ["$bad", "$good"], "the retried transaction was processed again"


def test_the_same_txn_id_from_another_origin_is_another_transaction() -> None:
    remote, db = _Remote(), Database(":memory:")
    handlers = _handlers(db, remote)
    _send(handlers, "t1", [_pdu("$one", "one")])
    request = Request("sendTransaction", {"origin": "c.test", "pdus": [_pdu("$two", "two")]},
                      {"txnId": "t1"}, {}, None, origin="c.test")
    trio.run(handlers.send_transaction, request)
    assert remote.received == ["$one", "$two"]


def test_answers_are_kept_for_a_day() -> None:
    store = InboundTransactionStore(Database(":memory:"))
    store.record("b.test", "old", {"pdus": {}}, now_ms=0)
    store.record("b.test", "recent", {"pdus": {}}, now_ms=KEEP_MS - 1)
    store.record("b.test", "new", {"pdus": {}}, now_ms=KEEP_MS + 1)
    assert store.answer("b.test", "old") is None
    assert store.answer("b.test", "recent") == {"pdus": {}}
