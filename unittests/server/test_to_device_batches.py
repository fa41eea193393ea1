# SPDX-License-Identifier: Apache-2.0
"""To-device messages handed to /sync in batches of at most 100, none lost or repeated.

Spec: client-server-api/#extensions-to-sync — the server should limit the number of
to-device messages it returns per /sync (a SHOULD, so this is our server's behaviour,
not a conformance test); messages are deleted only once the client acknowledges them by
syncing with a later token.
"""
from __future__ import annotations

import pytest

from reference_server import errors
from reference_server.services.notifier import Notifier
from reference_server.services.sync import SyncToken
from reference_server.services.to_device import MAX_PER_SYNC, ToDeviceMessaging
from reference_server.storage.database import Database
from reference_server.storage.to_device import ToDeviceStore

ALICE, BOB, DEVICE = "@alice:example.org", "@bob:example.org", "PHONE"


def messaging(tmp_path, count: int) -> tuple[Database, ToDeviceMessaging]:
    db = Database(tmp_path / "db.sqlite")
    service = ToDeviceMessaging(db=db, store=ToDeviceStore(db), notifier=Notifier(),
                                device_ids=lambda user_id: [DEVICE], server_name="example.org")
    for n in range(count):
        service.send(ALICE, "ALICEDEV", "m.ping", f"txn{n}", {BOB: {DEVICE: {"n": n}}})
    return db, service


def numbers(events: list[dict]) -> list[int]:
    return [e["content"]["n"] for e in events]


def test_a_full_inbox_is_handed_out_100_at_a_time_in_order(tmp_path) -> None:
    db, service = messaging(tmp_path, 150)
    now = db.current_stream_id()

    first, reached = service.for_sync(BOB, DEVICE, None, now)
    second, reached_again = service.for_sync(BOB, DEVICE, reached, now)
    third, _ = service.for_sync(BOB, DEVICE, reached_again, now)

    assert len(first) == MAX_PER_SYNC == 100 and reached < now
    assert numbers(first) + numbers(second) == list(range(150)) and reached_again == now
    assert third == []


def test_messages_given_are_kept_until_a_later_token_acknowledges_them(tmp_path) -> None:
    """A client that retries with its old token (the answer was lost) gets them again."""
    db, service = messaging(tmp_path, 120)
    now = db.current_stream_id()

    first, _ = service.for_sync(BOB, DEVICE, None, now)
    retried, _ = service.for_sync(BOB, DEVICE, None, now)

    assert numbers(retried) == numbers(first) == list(range(100))


def test_an_inbox_within_the_limit_reaches_the_current_position(tmp_path) -> None:
    db, service = messaging(tmp_path, 3)
    events, reached = service.for_sync(BOB, DEVICE, None, db.current_stream_id())
    assert numbers(events) == [0, 1, 2] and reached == db.current_stream_id()


@pytest.mark.parametrize("token", [SyncToken(7, 2), SyncToken(7, 2, 5)],
                         ids=["caught-up", "to-device-behind"])
def test_sync_tokens_round_trip(token: SyncToken) -> None:
    assert SyncToken.parse(token.encode()) == token


@pytest.mark.parametrize("text", ["s7", "s7_2_5_1", "s7_x", "t7_2", ""])
def test_malformed_sync_tokens_are_refused(text: str) -> None:
    with pytest.raises(errors.MatrixError):
        SyncToken.parse(text)
