# SPDX-License-Identifier: Apache-2.0
"""Server-side key backups: backup versions and the encrypted session keys stored in them.

Spec: client-server-api/#server-side-key-backups, #post_matrixclientv3room_keysversion,
#get_matrixclientv3room_keysversion, #put_matrixclientv3room_keyskeys and variants.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, expect_ok
from tests.harness.key_backup import ALGORITHM, KEYS, VERSION, auth_data, backup_info, \
    create_backup, get_keys, keys_path, put_session_key, session_key

pytestmark = pytest.mark.spec("1.1")
ROOM = "!backup-room:example.org"
OTHER_ROOM = "!other-room:example.org"


def put_body(level: str, key: dict) -> tuple[list[str], dict]:
    """The path and body that store `key` for (ROOM, "s1") at one of the three levels."""
    if level == "session":
        return keys_path(ROOM, "s1"), key
    if level == "room":
        return keys_path(ROOM), {"sessions": {"s1": key}}
    return keys_path(), {"rooms": {ROOM: {"sessions": {"s1": key}}}}


LEVELS = ["all", "room", "session"]


def test_a_new_backup_is_described_with_no_keys(hs):
    """A created backup is the current one, with its algorithm, auth_data and no keys.

    Spec: client-server-api/#get_matrixclientv3room_keysversion — the latest backup's
    `algorithm`, `auth_data`, `count`, `etag` and `version`; #post_matrixclientv3room_keysversion.
    """
    alice = hs.register()
    data = auth_data()
    version = create_backup(alice, data)

    for info in (backup_info(alice), backup_info(alice, version)):
        assert info["version"] == version, info
        assert info["algorithm"] == ALGORITHM, info
        assert info["auth_data"] == data, info
        assert info["count"] == 0, info


def test_the_latest_backup_is_the_current_one(hs):
    """After a second backup is created, it is the one GET /room_keys/version describes.

    Spec: client-server-api/#get_matrixclientv3room_keysversion — information about the
    latest backup version.
    """
    alice = hs.register()
    first = create_backup(alice)
    second = create_backup(alice)

    assert first != second
    assert backup_info(alice)["version"] == second


def test_a_user_without_a_backup_gets_not_found(hs):
    """Asking for the current backup of a user who has none answers 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3room_keysversion — 404: no backup exists.
    """
    alice = hs.register()

    expect_error(alice.do("GET", VERSION), 404, "M_NOT_FOUND")


def test_backups_are_per_user(hs):
    """One user's backup is invisible to another: it is not theirs to read or write.

    Spec: client-server-api/#server-side-key-backups — backups are per-user; the
    version is looked up among the caller's own backups (404 when it does not exist).
    """
    alice, bob = hs.register(), hs.register()
    version = create_backup(alice)

    expect_error(bob.do("GET", VERSION), 404, "M_NOT_FOUND")
    expect_error(bob.do("GET", [*VERSION, version]), 404, "M_NOT_FOUND")
    expect_error(bob.do("GET", KEYS, params={"version": version}), 404, "M_NOT_FOUND")


def test_an_unknown_version_is_not_found(hs):
    """A version the user never created answers 404 M_NOT_FOUND, for the backup and its keys.

    Spec: client-server-api/#get_matrixclientv3room_keysversionversion,
    #get_matrixclientv3room_keyskeys — 404: the backup was not found.
    """
    alice = hs.register()
    create_backup(alice)

    expect_error(alice.do("GET", [*VERSION, "no-such-version"]), 404, "M_NOT_FOUND")
    expect_error(alice.do("GET", KEYS, params={"version": "no-such-version"}), 404,
                 "M_NOT_FOUND")


def test_a_backups_auth_data_can_be_replaced(hs):
    """PUT /room_keys/version/{version} replaces auth_data.

    Spec: client-server-api/#put_matrixclientv3room_keysversionversion — update
    information about an existing backup; only `auth_data` can be modified.
    """
    alice = hs.register()
    version = create_backup(alice)
    new_data = auth_data()

    expect_ok(alice.do("PUT", [*VERSION, version],
                       json={"algorithm": ALGORITHM, "auth_data": new_data, "version": version}),
              "replace the backup's auth_data")

    assert backup_info(alice, version)["auth_data"] == new_data


@pytest.mark.parametrize("change", ["algorithm", "version"])
def test_an_update_cannot_change_the_algorithm_or_version(hs, change):
    """An update naming another algorithm, or another version in the body, is refused.

    Spec: client-server-api/#put_matrixclientv3room_keysversionversion — 400
    M_INVALID_PARAM when `algorithm` does not match the backup's, or the body's `version`
    is not the path's.
    """
    alice = hs.register()
    version = create_backup(alice)
    body = {"algorithm": ALGORITHM, "auth_data": auth_data()}
    if change == "algorithm":
        body["algorithm"] = "org.example.other_backup"
    else:
        body["version"] = version + "0"

    expect_error(alice.do("PUT", [*VERSION, version], json=body), 400, "M_INVALID_PARAM")


def test_updating_an_unknown_backup_is_not_found(hs):
    """Updating a version the user does not have answers 404 M_NOT_FOUND.

    Spec: client-server-api/#put_matrixclientv3room_keysversionversion — 404.
    """
    alice = hs.register()

    expect_error(alice.do("PUT", [*VERSION, "4242"],
                          json={"algorithm": ALGORITHM, "auth_data": auth_data()}),
                 404, "M_NOT_FOUND")


def test_a_deleted_backup_and_its_keys_are_gone(hs):
    """After DELETE, the backup and its keys can no longer be read.

    Spec: client-server-api/#delete_matrixclientv3room_keysversionversion — both the
    information about the backup and all its key data are deleted.
    """
    alice = hs.register()
    version = create_backup(alice)
    put_session_key(alice, version, ROOM, "s1", session_key())

    expect_ok(alice.do("DELETE", [*VERSION, version]), "delete the backup")

    expect_error(alice.do("GET", [*VERSION, version]), 404, "M_NOT_FOUND")
    expect_error(alice.do("GET", VERSION), 404, "M_NOT_FOUND")
    expect_error(alice.do("GET", KEYS, params={"version": version}), 404, "M_NOT_FOUND")


def test_deleting_a_deleted_backup_is_not_found(hs):
    """A backup deleted once does not exist any more, so deleting it again answers 404.

    Spec: client-server-api/#delete_matrixclientv3room_keysversionversion — 404
    M_NOT_FOUND: the backup specified does not exist.
    """
    alice = hs.register()
    version = create_backup(alice)
    expect_ok(alice.do("DELETE", [*VERSION, version]), "delete the backup")

    expect_error(alice.do("DELETE", [*VERSION, version]), 404, "M_NOT_FOUND")


@pytest.mark.parametrize("level", LEVELS)
def test_a_stored_key_reads_back_at_every_level(hs, level):
    """A key stored at any level is read back whole from the session, room and backup.

    Spec: client-server-api/#put_matrixclientv3room_keyskeys,
    #get_matrixclientv3room_keyskeysroomidsessionid and the room and backup variants;
    the answer is the `etag` and the `count` of keys.
    """
    alice = hs.register()
    version = create_backup(alice)
    key = session_key(marker="stored", is_verified=True, first_message_index=3,
                      forwarded_count=1)
    path, body = put_body(level, key)

    stored = expect_ok(alice.do("PUT", path, json=body, params={"version": version}),
                       "store a key")

    assert stored["count"] == 1, stored
    assert get_keys(alice, version, ROOM, "s1") == key
    assert get_keys(alice, version, ROOM) == {"sessions": {"s1": key}}
    assert get_keys(alice, version) == {"rooms": {ROOM: {"sessions": {"s1": key}}}}
    assert backup_info(alice, version)["count"] == 1


def test_an_empty_backup_reads_as_empty(hs):
    """Reading keys that are not there: empty objects for a backup or room, 404 for a session.

    Spec: client-server-api/#get_matrixclientv3room_keyskeys (`{"rooms": {}}`),
    #get_matrixclientv3room_keyskeysroomid (`{"sessions": {}}`),
    #get_matrixclientv3room_keyskeysroomidsessionid (404 M_NOT_FOUND).
    """
    alice = hs.register()
    version = create_backup(alice)

    assert get_keys(alice, version) == {"rooms": {}}
    assert get_keys(alice, version, ROOM) == {"sessions": {}}
    expect_error(alice.do("GET", keys_path(ROOM, "s1"), params={"version": version}), 404,
                 "M_NOT_FOUND")


@pytest.mark.parametrize("level", LEVELS)
def test_keys_are_only_stored_in_the_current_backup(hs, level):
    """Storing keys in an older version is refused, naming the current version.

    Spec: client-server-api/#put_matrixclientv3room_keyskeys — 403
    M_WRONG_ROOM_KEYS_VERSION with `current_version`; keys can only be written to the
    most recently created version (#server-side-key-backups).
    """
    alice = hs.register()
    old = create_backup(alice)
    current = create_backup(alice)
    path, body = put_body(level, session_key())

    error = expect_error(alice.do("PUT", path, json=body, params={"version": old}), 403,
                         "M_WRONG_ROOM_KEYS_VERSION")

    assert error.get("current_version") == current, error
    assert get_keys(alice, old) == {"rooms": {}}


def test_storing_keys_without_any_backup_is_not_found(hs):
    """Storing keys when the user has no backup at all answers 404 M_NOT_FOUND.

    Spec: client-server-api/#put_matrixclientv3room_keyskeys — 404: the backup was not
    found.
    """
    alice = hs.register()
    path, body = put_body("all", session_key())

    expect_error(alice.do("PUT", path, json=body, params={"version": "1"}), 404,
                 "M_NOT_FOUND")


def test_an_older_backup_can_still_be_read(hs):
    """Keys stay readable from a version that is no longer the current one.

    Spec: client-server-api/#get_matrixclientv3room_keyskeys — `version` names the
    backup to read from; only writes are limited to the current one.
    """
    alice = hs.register()
    old = create_backup(alice)
    key = session_key(marker="old")
    put_session_key(alice, old, ROOM, "s1", key)
    create_backup(alice)

    assert get_keys(alice, old, ROOM, "s1") == key


# (stored key, offered key, which one the server keeps)
REPLACE_RULES = {
    "verified-beats-unverified": (dict(is_verified=False), dict(is_verified=True), "new"),
    "unverified-never-replaces-verified": (
        dict(is_verified=True, first_message_index=5),
        dict(is_verified=False, first_message_index=0), "stored"),
    "lower-first-message-index-wins": (dict(first_message_index=5), dict(first_message_index=2),
                                       "new"),
    "higher-first-message-index-loses": (dict(first_message_index=2),
                                         dict(first_message_index=5, forwarded_count=0), "stored"),
    "then-lower-forwarded-count-wins": (dict(forwarded_count=3), dict(forwarded_count=1), "new"),
    "then-higher-forwarded-count-loses": (dict(forwarded_count=1), dict(forwarded_count=3),
                                          "stored"),
}


@pytest.mark.parametrize("stored, offered, kept", REPLACE_RULES.values(), ids=REPLACE_RULES)
def test_a_key_for_a_stored_session_replaces_it_only_if_better(hs, stored, offered, kept):
    """The server keeps the better of two keys for one session.

    Spec: client-server-api/#server-side-key-backups — keep the key with `is_verified`
    true; if equal, the lower `first_message_index`; if also equal, the lower
    `forwarded_count`.
    """
    alice = hs.register()
    version = create_backup(alice)
    put_session_key(alice, version, ROOM, "s1", session_key(marker="stored", **stored))

    put_session_key(alice, version, ROOM, "s1", session_key(marker="new", **offered))

    assert get_keys(alice, version, ROOM, "s1")["session_data"]["marker"] == kept


def test_the_etag_changes_when_the_keys_change(hs):
    """Storing and deleting keys changes the backup's etag, as reported and as described.

    Spec: client-server-api/#get_matrixclientv3room_keysversionversion — `etag` is an
    opaque string representing the stored keys, which clients compare to learn that
    another client changed the backup; #put_matrixclientv3room_keyskeys returns the new
    etag.
    """
    alice = hs.register()
    version = create_backup(alice)
    empty = backup_info(alice, version)["etag"]

    stored = put_session_key(alice, version, ROOM, "s1", session_key())
    assert stored["etag"] != empty, stored
    assert backup_info(alice, version)["etag"] == stored["etag"]

    deleted = expect_ok(alice.do("DELETE", keys_path(ROOM, "s1"), params={"version": version}),
                        "delete the key")
    assert deleted["etag"] != stored["etag"], deleted
    assert deleted["count"] == 0, deleted


def test_keys_are_deleted_at_each_level(hs):
    """Deleting a session, a room, then everything removes just those keys.

    Spec: client-server-api/#delete_matrixclientv3room_keyskeysroomidsessionid,
    #delete_matrixclientv3room_keyskeysroomid, #delete_matrixclientv3room_keyskeys — the
    answer carries the remaining `count`.
    """
    alice = hs.register()
    version = create_backup(alice)
    for room, session in [(ROOM, "s1"), (ROOM, "s2"), (OTHER_ROOM, "s3"), (OTHER_ROOM, "s4")]:
        put_session_key(alice, version, room, session, session_key())

    def delete(*where: str) -> dict:
        return expect_ok(alice.do("DELETE", keys_path(*where), params={"version": version}),
                         f"delete keys of {where or 'the backup'}")

    assert delete(ROOM, "s1")["count"] == 3
    assert set(get_keys(alice, version, ROOM)["sessions"]) == {"s2"}
    assert delete(OTHER_ROOM)["count"] == 1
    assert get_keys(alice, version, OTHER_ROOM) == {"sessions": {}}
    assert delete()["count"] == 0
    assert get_keys(alice, version) == {"rooms": {}}


@pytest.mark.parametrize("level", LEVELS)
def test_the_version_parameter_is_required(hs, level):
    """Storing keys without the `version` query parameter is refused with 400.

    Spec: client-server-api/#put_matrixclientv3room_keyskeys — `version` is a required
    query parameter; a missing parameter is M_MISSING_PARAM (#common-error-codes).
    """
    alice = hs.register()
    create_backup(alice)
    path, body = put_body(level, session_key())

    expect_error(alice.do("PUT", path, json=body), 400, "M_MISSING_PARAM")


@pytest.mark.parametrize("missing", ["session_data", "is_verified", "first_message_index"])
def test_a_key_without_a_required_field_is_refused(hs, missing):
    """A session key lacking one of its required fields is refused with 400 M_BAD_JSON.

    Spec: client-server-api/#put_matrixclientv3room_keyskeysroomidsessionid — KeyBackupData
    requires `first_message_index`, `forwarded_count`, `is_verified` and `session_data`;
    malformed JSON is M_BAD_JSON (#common-error-codes).
    """
    alice = hs.register()
    version = create_backup(alice)
    key = session_key()
    del key[missing]

    expect_error(alice.do("PUT", keys_path(ROOM, "s1"), json=key, params={"version": version}),
                 400, ("M_BAD_JSON", "M_MISSING_PARAM"))
