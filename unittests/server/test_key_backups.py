# SPDX-License-Identifier: Apache-2.0
"""This server's own choices for key backups, where the spec leaves them open, checked on
both database engines: version IDs are numbers never reused, deleting the current backup
makes the newest remaining one current, and a better key overwrites the stored row."""
from __future__ import annotations

import pytest

from reference_server.errors import MatrixError
from reference_server.services.key_backups import KeyBackups
from reference_server.storage.database import open_database
from reference_server.storage.key_backups import BackedUpKeyStore, BackupVersionStore

USER, ROOM = "@alice:hs.example", "!room:hs.example"
CONFIG = {"algorithm": "m.megolm_backup.v1.curve25519-aes-sha2", "auth_data": {"k": 1}}


@pytest.fixture
def backups(database_target) -> KeyBackups:
    db = open_database(database_target)
    return KeyBackups(db=db, versions=BackupVersionStore(db), keys=BackedUpKeyStore(db))


def key(marker: str, *, index: int = 0, verified: bool = False) -> dict:
    return {"first_message_index": index, "forwarded_count": 0, "is_verified": verified,
            "session_data": {"marker": marker}}


def test_a_deleted_version_number_is_never_reused(backups):
    first = backups.create(USER, CONFIG)["version"]
    backups.delete(USER, first)
    assert backups.create(USER, CONFIG)["version"] != first


def test_deleting_the_current_backup_makes_the_newest_remaining_one_current(backups):
    older = backups.create(USER, CONFIG)["version"]
    newer = backups.create(USER, CONFIG)["version"]
    backups.delete(USER, newer)
    assert backups.describe_current(USER)["version"] == older
    backups.put_keys(USER, older, {ROOM: {"sessions": {"s": key("a")}}})


def test_a_better_key_overwrites_the_stored_one(backups):
    version = backups.create(USER, CONFIG)["version"]
    backups.put_keys(USER, version, {ROOM: {"sessions": {"s": key("a", index=4)}}})
    result = backups.put_keys(USER, version, {ROOM: {"sessions": {"s": key("b", verified=True)}}})
    assert result["count"] == 1
    assert backups.get_keys(USER, version, ROOM, "s")["session_data"] == {"marker": "b"}


@pytest.mark.parametrize("version", ["01", "+1", "one", "١"])
def test_a_version_id_that_is_not_ours_names_no_backup(backups, version):
    backups.create(USER, CONFIG)
    with pytest.raises(MatrixError) as refused:
        backups.describe(USER, version)
    assert (refused.value.status, refused.value.errcode) == (404, "M_NOT_FOUND")
