# SPDX-License-Identifier: Apache-2.0
"""The storage layer behaves the same on SQLite and PostgreSQL: the SQL the stores write
means one thing on both engines (conflicts, generated IDs, flags, ordering, atomicity)."""
from __future__ import annotations

import pytest

from reference_server.errors import MatrixError

from reference_server.storage.accounts import DeviceStore, UserStore
from reference_server.storage.database import open_database
from reference_server.storage.e2e_keys import E2eKeyStore
from reference_server.storage.inbound_transactions import InboundTransactionStore
from reference_server.storage.outbox import OutboxStore
from reference_server.storage.rooms import AliasStore, RoomStore
from reference_server.storage.schema import MIGRATIONS
from reference_server.storage.state import StateStore
from reference_server.storage.to_device import ToDeviceStore

NOW_MS = 1_760_000_000_000  # milliseconds since 1970 need more than 32 bits


@pytest.fixture
def db(database_target):
    database = open_database(database_target)
    yield database
    database.close()


def test_migrations_run_once_and_data_survives_reopening(database_target):
    first = open_database(database_target)
    UserStore(first).create("@alice:hs", "hash", now_ms=NOW_MS)
    first.close()
    again = open_database(database_target)
    assert again.scalar("SELECT version FROM schema_version") == len(MIGRATIONS)
    assert UserStore(again).get("@alice:hs").password_hash == "hash"
    again.close()


def test_rows_are_read_by_name_and_by_index(db):
    UserStore(db).create("@alice:hs", None, now_ms=NOW_MS, is_guest=True)
    row = db.one("SELECT user_id, created_ts, is_guest FROM users WHERE user_id = ?",
                 ("@alice:hs",))
    assert (row["user_id"], row[1], row["is_guest"]) == ("@alice:hs", NOW_MS, 1)
    assert dict(row) == {"user_id": "@alice:hs", "created_ts": NOW_MS, "is_guest": 1}
    assert db.one("SELECT user_id FROM users WHERE user_id = ?", ("@nobody:hs",)) is None


def test_placeholders_inside_quotes_are_text(db):
    assert db.scalar("SELECT '?%' || ?", ("x",)) == "?%x"


def test_a_second_insert_of_a_key_is_ignored_and_says_so(db):
    users, aliases, to_device = UserStore(db), AliasStore(db), ToDeviceStore(db)
    assert users.create("@alice:hs", "one", now_ms=NOW_MS)
    assert not users.create("@alice:hs", "two", now_ms=NOW_MS)
    assert users.get("@alice:hs").password_hash == "one"
    assert aliases.create("#a:hs", "!r:hs", "@alice:hs")
    assert not aliases.create("#a:hs", "!other:hs", "@alice:hs")
    assert aliases.get("#a:hs") == ("!r:hs", "@alice:hs")
    assert to_device.first_use_of_txn("@alice:hs", "DEV", "t1")
    assert not to_device.first_use_of_txn("@alice:hs", "DEV", "t1")
    assert to_device.first_receipt("other.hs", "m1")
    assert not to_device.first_receipt("other.hs", "m1")


def test_upserts_replace_the_row_of_their_key(db):
    keys = E2eKeyStore(db)
    keys.add_signature("@a:hs", "DEV", "@b:hs", "ed25519:K", "first")
    keys.add_signature("@a:hs", "DEV", "@b:hs", "ed25519:K", "second")
    assert keys.signatures("@a:hs", "DEV") == [("@b:hs", "ed25519:K", "second")]
    inbound = InboundTransactionStore(db)
    inbound.record("other.hs", "t1", {"pdus": {}}, now_ms=NOW_MS)
    inbound.record("other.hs", "t1", {"pdus": {"$e": {}}}, now_ms=NOW_MS)
    assert inbound.answer("other.hs", "t1") == {"pdus": {"$e": {}}}


def test_a_fallback_key_is_marked_unused_only_when_it_changes(db):
    keys = E2eKeyStore(db)
    keys.set_fallback_key("@a:hs", "DEV", "signed_curve25519", "K1", {"key": "one"})
    assert keys.use_fallback_key("@a:hs", "DEV", "signed_curve25519") == ("K1", {"key": "one"})
    keys.set_fallback_key("@a:hs", "DEV", "signed_curve25519", "K1", {"key": "one"})
    assert keys.unused_fallback_algorithms("@a:hs", "DEV") == []
    keys.set_fallback_key("@a:hs", "DEV", "signed_curve25519", "K2", {"key": "two"})
    assert keys.unused_fallback_algorithms("@a:hs", "DEV") == ["signed_curve25519"]


def test_generated_ids_grow_and_keep_insertion_order(db):
    state = StateStore(db)
    first = state.create_group("!r:hs", None, {("m.room.create", ""): "$create"})
    second = state.create_group("!r:hs", first, {("m.room.name", ""): "$name"})
    assert second > first
    assert state.group_state(second) == {("m.room.create", ""): "$create",
                                         ("m.room.name", ""): "$name"}
    keys = E2eKeyStore(db)
    for key_id in ("B", "A", "C"):
        keys.add_one_time_key("@a:hs", "DEV", "signed_curve25519", key_id, {"k": key_id})
    taken = [keys.take_one_time_key("@a:hs", "DEV", "signed_curve25519")[0] for _ in range(3)]
    assert taken == ["B", "A", "C"], "one-time keys are handed out oldest first"
    outbox = OutboxStore(db)
    for n in range(3):
        outbox.add("other.hs", "pdu", {"n": n})
    ids, pdus, _ = outbox.next_batch("other.hs", pdus=10, edus=10)
    assert [p["n"] for p in pdus] == [0, 1, 2] and ids == sorted(ids)


def test_text_is_ordered_byte_wise(db):
    devices = DeviceStore(db)
    for device_id in ("b", "B", "_", "a"):
        devices.upsert("@a:hs", device_id, None)
    assert [d.device_id for d in devices.list("@a:hs")] == ["B", "_", "a", "b"]


def test_flags_are_integers_whatever_python_passes(db):
    rooms = RoomStore(db)
    rooms.create("!r:hs", "10", "@a:hs", now_ms=NOW_MS)
    db.execute("UPDATE rooms SET is_public = ? WHERE room_id = ?", (True, "!r:hs"))
    assert rooms.is_public("!r:hs") and rooms.public_rooms() == ["!r:hs"]


def test_a_failed_transaction_leaves_nothing_behind(db):
    users = UserStore(db)
    with pytest.raises(RuntimeError), db.transaction():
        users.create("@alice:hs", None, now_ms=NOW_MS)
        with db.transaction():  # nested: part of the outer one
            db.next_stream_id()
        raise RuntimeError("abort")
    assert users.get("@alice:hs") is None
    assert db.current_stream_id() == 0
    with db.transaction():
        users.create("@alice:hs", None, now_ms=NOW_MS)
    assert users.get("@alice:hs") is not None


def test_the_stream_position_only_grows(db):
    positions = [db.next_stream_id() for _ in range(3)]
    assert positions == [1, 2, 3] and db.current_stream_id() == 3


def test_deleted_row_counts_are_reported(db):
    keys = E2eKeyStore(db)
    keys.set_device_keys("@a:hs", "DEV", {"keys": {}})
    assert keys.delete_device("@a:hs", "DEV")
    assert not keys.delete_device("@a:hs", "DEV")


def test_text_with_nul_is_refused_as_bad_input_where_it_cannot_be_stored(db):
    devices = DeviceStore(db)
    devices.upsert("@a:hs", "DEV", None)
    if db.engine == "sqlite":
        devices.set_display_name("@a:hs", "DEV", "a\x00b")
        assert devices.get("@a:hs", "DEV").display_name == "a\x00b"
        return
    with pytest.raises(MatrixError) as refused, db.transaction():
        devices.set_display_name("@a:hs", "DEV", "a\x00b")
    assert (refused.value.status, refused.value.errcode) == (400, "M_INVALID_PARAM")
    assert devices.get("@a:hs", "DEV").display_name is None, "the transaction rolled back"
