# SPDX-License-Identifier: Apache-2.0
"""Server-side key backups for tests: creating a backup and the keys that go in it.

    version = create_backup(alice)
    put_session_key(alice, version, room_id, "s1", session_key(marker="a"))
    assert get_session_key(alice, version, room_id, "s1")["session_data"]["marker"] == "a"

Session data is opaque to the server (client-server-api/#server-side-key-backups), so
each key carries a `marker` in it that tells which upload the server kept.
"""
from __future__ import annotations

import secrets
from typing import Any

from tests.harness.assertions import expect_ok
from tests.harness.client import Client
from tests.harness.crypto import encode_base64

JsonDict = dict[str, Any]
ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
VERSION = ["room_keys", "version"]
KEYS = ["room_keys", "keys"]


def auth_data() -> JsonDict:
    """The curve25519 backup's auth_data: a public key (random: the server cannot tell)."""
    return {"public_key": encode_base64(secrets.token_bytes(32))}


def create_backup(client: Client, data: JsonDict | None = None) -> str:
    """A new backup version of `client`'s; its version ID."""
    body = {"algorithm": ALGORITHM, "auth_data": data or auth_data()}
    created = expect_ok(client.do("POST", VERSION, json=body), f"create a backup for {client}")
    assert isinstance(created.get("version"), str), created
    return created["version"]


def backup_info(client: Client, version: str | None = None) -> JsonDict:
    """The current backup's description, or that of `version`."""
    path = VERSION if version is None else [*VERSION, version]
    return expect_ok(client.do("GET", path), f"describe backup {version or '(current)'}")


def session_key(*, marker: str = "", is_verified: bool = False, first_message_index: int = 0,
                forwarded_count: int = 0) -> JsonDict:
    """One backed-up session key; `marker` sits in its (opaque) session data."""
    return {"first_message_index": first_message_index, "forwarded_count": forwarded_count,
            "is_verified": is_verified,
            "session_data": {"ephemeral": encode_base64(secrets.token_bytes(32)),
                             "ciphertext": encode_base64(secrets.token_bytes(48)),
                             "mac": encode_base64(secrets.token_bytes(8)), "marker": marker}}


def keys_path(room_id: str | None = None, session_id: str | None = None) -> list[str]:
    """The keys endpoint at the level the arguments name: all, a room, a session."""
    return KEYS + [part for part in (room_id, session_id) if part is not None]


def put_session_key(client: Client, version: str, room_id: str, session_id: str,
                    key: JsonDict) -> JsonDict:
    """Stores one key; the answer's etag and count."""
    return expect_ok(client.do("PUT", keys_path(room_id, session_id), json=key,
                               params={"version": version}),
                     f"back up session {session_id} of {room_id}")


def get_keys(client: Client, version: str, room_id: str | None = None,
             session_id: str | None = None) -> JsonDict:
    return expect_ok(client.do("GET", keys_path(room_id, session_id),
                               params={"version": version}), "read keys from the backup")
