# SPDX-License-Identifier: Apache-2.0
"""Content hashes and reference hashes of events (server-server-api/#signing-events)."""
from __future__ import annotations

import hashlib
import hmac

from .canonical_json import encode_canonical_json
from .redaction import redact
from .room_versions import RoomVersion
from .signing import unpadded_base64_decode, unpadded_base64_encode
from .types import JsonDict

# server-server-api/#calculating-the-content-hash-for-an-event: "any existing unsigned,
# signatures, and hashes properties are removed".
_NOT_IN_CONTENT_HASH = ("unsigned", "signatures", "hashes")


def _content_hash_bytes(event: JsonDict) -> bytes:
    stripped = {k: v for k, v in event.items() if k not in _NOT_IN_CONTENT_HASH}
    # Lax encoding: events in room versions 1-5 may hold floats and must still hash.
    return hashlib.sha256(encode_canonical_json(stripped, strict=False)).digest()


def compute_content_hash(event: JsonDict) -> str:
    """The unpadded base64 SHA-256 content hash of the complete (unredacted) event."""
    return unpadded_base64_encode(_content_hash_bytes(event))


def add_content_hash(event: JsonDict) -> JsonDict:
    """A copy of `event` with `hashes.sha256` set to its content hash."""
    hashed = dict(event)
    hashed["hashes"] = {"sha256": compute_content_hash(event)}
    return hashed


def check_content_hash(event: JsonDict) -> bool:
    """Whether `hashes.sha256` matches the event's content.

    A mismatch means the event was modified or (more usually) that we were sent a redacted
    copy; server-server-api/#validating-hashes-and-signatures-on-received-events says to
    then keep using the redacted form.
    """
    hashes = event.get("hashes")
    claimed = hashes.get("sha256") if isinstance(hashes, dict) else None
    if not isinstance(claimed, str):
        return False
    try:
        claimed_bytes = unpadded_base64_decode(claimed)
    except ValueError:
        return False
    return hmac.compare_digest(claimed_bytes, _content_hash_bytes(event))


def reference_hash(event: JsonDict, version: RoomVersion) -> bytes:
    """The raw SHA-256 reference hash (server-server-api/#calculating-the-reference-hash).

    1. redact the event; 2. drop `signatures` and `unsigned`; 3. canonical JSON;
    4. SHA-256.
    """
    redacted = redact(event, version)
    redacted.pop("signatures", None)
    redacted.pop("unsigned", None)
    return hashlib.sha256(encode_canonical_json(redacted, strict=False)).digest()
