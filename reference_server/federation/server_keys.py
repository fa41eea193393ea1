# SPDX-License-Identifier: Apache-2.0
"""Server key documents (server-server, publishing keys): building ours, checking theirs.

A server publishes its current verify keys, expired ones, and how long the answer stays
valid, all signed by itself. A fetched document is only usable if it names the server
we asked, is signed by one of the keys it lists, and is still valid.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..protocol.signing import SignatureError, SigningKey, sign_json, unpadded_base64_decode
from ..protocol.signing import verify_json
from ..types import JsonDict

KEY_VALIDITY_MS = 24 * 60 * 60 * 1000


class KeyDocumentError(ValueError):
    """A fetched key document cannot be trusted."""


@dataclass(frozen=True)
class VerifyKey:
    server_name: str
    key_id: str
    key: bytes
    valid_until_ts: int
    expired_ts: int | None = None  # set for old_verify_keys


def build_key_document(server_name: str, key: SigningKey, *, now_ms: int,
                       old_keys: dict[str, tuple[str, int]] | None = None) -> JsonDict:
    """Our /_matrix/key/v2/server answer: current key, expired keys, signed by us."""
    document: JsonDict = {
        "server_name": server_name,
        "valid_until_ts": now_ms + KEY_VALIDITY_MS,
        "verify_keys": {key.key_id: {"key": key.verify_key_base64}},
        "old_verify_keys": {key_id: {"key": public, "expired_ts": expired}
                            for key_id, (public, expired) in (old_keys or {}).items()},
    }
    return sign_json(document, server_name=server_name, key=key)


def parse_key_document(document: JsonDict, *, expected_server: str) -> list[VerifyKey]:
    """The keys of a fetched document, after checking who it is from and its self-signature."""
    if document.get("server_name") != expected_server:
        raise KeyDocumentError(f"key document names {document.get('server_name')!r}, "
                               f"not {expected_server!r}")
    valid_until = document.get("valid_until_ts")
    if not isinstance(valid_until, int):
        raise KeyDocumentError("key document has no valid_until_ts")
    keys = []
    for key_id, entry in (document.get("verify_keys") or {}).items():
        keys.append(VerifyKey(expected_server, key_id, _decode(entry), valid_until))
    for key_id, entry in (document.get("old_verify_keys") or {}).items():
        keys.append(VerifyKey(expected_server, key_id, _decode(entry), valid_until,
                              entry.get("expired_ts")))
    signed_by = (document.get("signatures") or {}).get(expected_server, {})
    current = {k.key_id: k for k in keys if k.expired_ts is None}
    for key_id in signed_by:
        if key_id in current:
            try:
                verify_json(document, server_name=expected_server, key_id=key_id,
                            verify_key=current[key_id].key)
            except SignatureError as error:
                raise KeyDocumentError(f"bad self-signature: {error}") from None
            return keys
    raise KeyDocumentError("key document is not signed by any of its own current keys")


def _decode(entry: JsonDict) -> bytes:
    try:
        return unpadded_base64_decode(entry["key"])
    except (KeyError, TypeError, ValueError):
        raise KeyDocumentError("malformed verify key") from None
