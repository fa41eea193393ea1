# SPDX-License-Identifier: Apache-2.0
"""The suite's own canonical JSON, signing, hashing and event-ID code.

Written independently of `reference_server` on purpose: a bug shared by the suite and the
server under test would pass unnoticed. Follows the spec's appendices (canonical JSON,
signing JSON), the server-server API (content and reference hashes) and the room
version documents (redaction, event IDs, v12 room IDs). Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import canonicaljson
import nacl.exceptions
import nacl.signing

JsonDict = dict[str, Any]

_MAX_SAFE_INT = 2**53 - 1
_UNSIGNED_PARTS = ("signatures", "unsigned")  # never covered by a signature


class SignatureError(ValueError):
    """A signature is missing, malformed or does not verify; the message says which."""


# --- base64 and canonical JSON ----------------------------------------------------------


def encode_base64(data: bytes, *, urlsafe: bool = False) -> str:
    """Unpadded base64, standard alphabet unless `urlsafe` (then `-` and `_`)."""
    encoded = base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)
    return encoded.decode("ascii").rstrip("=")


def decode_base64(text: str) -> bytes:
    """Decode base64 in either alphabet, with or without padding."""
    text = text.rstrip("=").replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _normalise_numbers(value: Any) -> Any:
    # Canonical JSON has only integers in the IEEE-double-safe range. A float with an
    # integral value (1e10, -0.0) is written as that integer; any other float is refused.
    if isinstance(value, dict):
        return {key: _normalise_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise_numbers(item) for item in value]
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"canonical JSON has no fractions: {value!r}")
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > _MAX_SAFE_INT:
            raise ValueError(f"integer outside canonical JSON's range: {value}")
    return value


def canonical_json(value: Any) -> bytes:
    """Encode `value` as canonical JSON: sorted keys, no spaces, UTF-8, integers only."""
    return canonicaljson.encode_canonical_json(_normalise_numbers(value))


# --- keys and signed JSON ---------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """An ed25519 signing key with its key ID (`ed25519:<version>`)."""

    key_id: str
    nacl_key: nacl.signing.SigningKey

    @classmethod
    def generate(cls, version: str | None = None) -> SigningKey:
        """A fresh random key; the version defaults to a random `a_XXXX`-style tag."""
        version = version or "a_" + os.urandom(3).hex()  # spec: key versions are [a-zA-Z0-9_]
        return cls(f"ed25519:{version}", nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes | str, version: str) -> SigningKey:
        """The key for a 32-byte seed (raw, or unpadded base64 as the spec prints it)."""
        raw = decode_base64(seed) if isinstance(seed, str) else seed
        return cls(f"ed25519:{version}", nacl.signing.SigningKey(raw))

    @property
    def public_key_base64(self) -> str:
        """The verify key as published under `verify_keys` in `/_matrix/key/v2/server`."""
        return encode_base64(bytes(self.nacl_key.verify_key))


def sign_json(obj: Mapping[str, Any], server_name: str, key: SigningKey) -> JsonDict:
    """Return a copy of `obj` with `server_name`'s signature added under `signatures`.

    The signature covers everything except `signatures` and `unsigned`, which are kept.
    """
    signed = copy.deepcopy(dict(obj))
    signatures = signed.pop("signatures", {})
    unsigned = signed.pop("unsigned", None)
    signature = key.nacl_key.sign(canonical_json(signed)).signature
    signatures.setdefault(server_name, {})[key.key_id] = encode_base64(signature)
    signed["signatures"] = signatures
    if unsigned is not None:
        signed["unsigned"] = unsigned
    return signed


def verify_signed_json(
    obj: Mapping[str, Any], server_name: str, verify_keys: Mapping[str, bytes | str]
) -> None:
    """Check that `server_name` signed `obj` with one of `verify_keys` (key ID → key).

    Follows the appendix's "Checking for a Signature": ignores algorithms other than
    ed25519 and key IDs not in `verify_keys`, and raises `SignatureError` saying why the
    check fails. Keys are raw 32 bytes or unpadded base64.
    """
    by_server = obj.get("signatures", {}).get(server_name)
    if not by_server:
        raise SignatureError(f"no signatures from {server_name}")
    known = {
        kid: sig for kid, sig in by_server.items()
        if kid.startswith("ed25519:") and kid in verify_keys
    }  # fmt: skip
    if not known:
        raise SignatureError(
            f"{server_name} signed with {sorted(by_server)}, none of the known keys "
            f"{sorted(verify_keys)}"
        )
    payload = canonical_json({k: v for k, v in obj.items() if k not in _UNSIGNED_PARTS})
    for kid, signature in known.items():
        raw_key = verify_keys[kid]
        raw_key = decode_base64(raw_key) if isinstance(raw_key, str) else raw_key
        try:
            nacl.signing.VerifyKey(raw_key).verify(payload, decode_base64(signature))
        except (nacl.exceptions.BadSignatureError, ValueError) as exc:
            raise SignatureError(f"bad signature {kid} from {server_name}: {exc}") from exc


# --- room versions ----------------------------------------------------------------------


@dataclass(frozen=True)
class RoomVersion:
    """What the functions here need to know about a room version, as named flags."""

    identifier: str
    event_ids_from_hash: bool  # v3+: the event ID is the reference hash
    url_safe_event_ids: bool  # v4+: ... in URL-safe base64
    keeps_aliases: bool  # v1-5: redaction keeps m.room.aliases `aliases`
    keeps_join_rule_allow: bool  # v8+: redaction keeps m.room.join_rules `allow`
    keeps_authorised_via: bool  # v9+: ... m.room.member `join_authorised_via_users_server`
    v11_redaction: bool  # v11+: the v11 redaction rules (MSC2176, MSC3821, MSC3989)
    room_id_from_create: bool  # v12+: the room ID is the create event's hash


def _room_version(n: int) -> RoomVersion:
    return RoomVersion(
        identifier=str(n),
        event_ids_from_hash=n >= 3,
        url_safe_event_ids=n >= 4,
        keeps_aliases=n <= 5,
        keeps_join_rule_allow=n >= 8,
        keeps_authorised_via=n >= 9,
        v11_redaction=n >= 11,
        room_id_from_create=n >= 12,
    )


ROOM_VERSIONS: dict[str, RoomVersion] = {str(n): _room_version(n) for n in range(1, 13)}


def room_version(version: RoomVersion | str) -> RoomVersion:
    """Look a version string up in `ROOM_VERSIONS`; a `RoomVersion` passes through."""
    if isinstance(version, RoomVersion):
        return version
    try:
        return ROOM_VERSIONS[version]
    except KeyError:
        raise ValueError(f"room version {version!r} is not known to the suite") from None


# --- redaction, hashes, event IDs -------------------------------------------------------

_KEPT_TOP_LEVEL = frozenset(
    ["event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
     "signatures", "depth", "prev_events", "auth_events", "origin_server_ts"]
)  # fmt: skip
_KEPT_BEFORE_V11 = frozenset(["prev_state", "origin", "membership"])
_POWER_LEVEL_KEYS = ("ban", "events", "events_default", "kick", "redact",
                     "state_default", "users", "users_default")  # fmt: skip


def _kept_content_keys(event_type: str, version: RoomVersion) -> tuple[str, ...] | None:
    """The content keys a redaction keeps; None means all of them."""
    v11 = version.v11_redaction
    if event_type == "m.room.member":
        if version.keeps_authorised_via:
            return ("membership", "join_authorised_via_users_server")
        return ("membership",)
    if event_type == "m.room.create":
        return None if v11 else ("creator",)
    if event_type == "m.room.join_rules":
        return ("join_rule", "allow") if version.keeps_join_rule_allow else ("join_rule",)
    if event_type == "m.room.power_levels":
        return _POWER_LEVEL_KEYS + (("invite",) if v11 else ())
    if event_type == "m.room.history_visibility":
        return ("history_visibility",)
    if event_type == "m.room.aliases" and version.keeps_aliases:
        return ("aliases",)
    if event_type == "m.room.redaction" and v11:
        return ("redacts",)
    return ()


def redact(event: Mapping[str, Any], version: RoomVersion | str) -> JsonDict:
    """Strip `event` down to the keys the room version's redaction algorithm keeps."""
    version = room_version(version)
    top = _KEPT_TOP_LEVEL if version.v11_redaction else _KEPT_TOP_LEVEL | _KEPT_BEFORE_V11
    redacted = {k: copy.deepcopy(v) for k, v in event.items() if k in top}
    if "content" not in event:
        return redacted
    content, event_type = event["content"], event.get("type", "")
    kept = _kept_content_keys(event_type, version)
    if kept is not None:
        redacted["content"] = {k: copy.deepcopy(content[k]) for k in kept if k in content}
        # v11: a member event also keeps `third_party_invite.signed`.
        invite = content.get("third_party_invite")
        keeps_signed = version.v11_redaction and event_type == "m.room.member"
        if keeps_signed and isinstance(invite, dict) and "signed" in invite:
            signed = copy.deepcopy(invite["signed"])
            redacted["content"]["third_party_invite"] = {"signed": signed}
    return redacted


def content_hash(event: Mapping[str, Any]) -> bytes:
    """SHA-256 of the event without `unsigned`, `signatures` and `hashes`."""
    skipped = ("unsigned", "signatures", "hashes")
    return hashlib.sha256(
        canonical_json({k: v for k, v in event.items() if k not in skipped})
    ).digest()


def reference_hash(event: Mapping[str, Any], version: RoomVersion | str) -> bytes:
    """SHA-256 of the redacted event without `signatures` and `unsigned`."""
    redacted = {k: v for k, v in redact(event, version).items() if k not in _UNSIGNED_PARTS}
    return hashlib.sha256(canonical_json(redacted)).digest()


def compute_event_id(event: Mapping[str, Any], version: RoomVersion | str) -> str:
    """The event ID of `event` in room versions 3 and later (`$` + its reference hash)."""
    version = room_version(version)
    if not version.event_ids_from_hash:
        raise ValueError(f"room version {version.identifier} does not derive event IDs")
    digest = reference_hash(event, version)
    return "$" + encode_base64(digest, urlsafe=version.url_safe_event_ids)


def room_id_from_create_event(create: Mapping[str, Any], version: RoomVersion | str) -> str:
    """The room ID in room version 12 and later: the create event's ID with `!`."""
    version = room_version(version)
    if not version.room_id_from_create:
        raise ValueError(f"room version {version.identifier} does not derive room IDs")
    return "!" + compute_event_id(create, version)[1:]


def sign_event(
    event: Mapping[str, Any], server_name: str, key: SigningKey, version: RoomVersion | str
) -> JsonDict:
    """Return a copy of `event` with its content hash set and `server_name`'s signature.

    The hash covers the whole event; the signature covers only the redacted event, so it
    still verifies after a redaction.
    """
    hashed = copy.deepcopy(dict(event))
    hashed["hashes"] = {"sha256": encode_base64(content_hash(hashed))}
    signed = sign_json(redact(hashed, version), server_name, key)
    hashed["signatures"] = signed["signatures"]
    return hashed


def verify_event_signature(
    event: Mapping[str, Any],
    server_name: str,
    verify_keys: Mapping[str, bytes | str],
    version: RoomVersion | str,
) -> None:
    """Check `server_name`'s signature over the redacted event; raise `SignatureError`."""
    verify_signed_json(redact(event, version), server_name, verify_keys)
