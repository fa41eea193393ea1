# SPDX-License-Identifier: Apache-2.0
"""Signing JSON with ed25519 (appendices/#signing-json, appendices/#checking-for-a-signature).

Keys are kept in the one-line format Synapse and other servers use for key files,
"ed25519 <version> <unpadded base64 seed>", so a data directory's key can move between
implementations.
"""
from __future__ import annotations

import base64
import binascii
import copy
import secrets
import string
from typing import Any

import nacl.exceptions
import nacl.signing

from .canonical_json import encode_canonical_json
from .types import JsonDict

ED25519 = "ed25519"


class SignatureError(Exception):
    """A signature is missing, malformed or does not verify."""


def unpadded_base64_encode(data: bytes, *, urlsafe: bool = False) -> str:
    """Base64 without "=" padding (appendices/#unpadded-base64), optionally URL-safe."""
    encoder = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encoder(data).decode("ascii").rstrip("=")


def unpadded_base64_decode(text: str, *, urlsafe: bool = False) -> bytes:
    """Decode base64 with or without padding, as the appendix asks decoders to accept.

    Raises ValueError on malformed input.
    """
    stripped = text.rstrip("=")
    padded = stripped + "=" * (-len(stripped) % 4)
    altchars = b"-_" if urlsafe else None
    try:
        return base64.b64decode(padded.encode("ascii"), altchars=altchars, validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"invalid base64: {text!r}") from exc


class SigningKey:
    """An ed25519 signing key together with its key identifier ("ed25519:<version>")."""

    def __init__(self, seed: bytes, version: str) -> None:
        self._key = nacl.signing.SigningKey(seed)
        self.seed = seed
        self.version = version
        self.alg = ED25519

    @property
    def key_id(self) -> str:
        return f"{self.alg}:{self.version}"

    @property
    def verify_key_bytes(self) -> bytes:
        return bytes(self._key.verify_key)

    @property
    def verify_key_base64(self) -> str:
        return unpadded_base64_encode(self.verify_key_bytes)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte detached signature of `data`."""
        return self._key.sign(data).signature

    def __repr__(self) -> str:  # never show the seed
        return f"SigningKey({self.key_id!r})"


def random_key_version() -> str:
    """A fresh key version in the usual "a_XXXX" shape."""
    alphabet = string.ascii_letters + string.digits
    return "a_" + "".join(secrets.choice(alphabet) for _ in range(4))


def generate_signing_key(version: str) -> SigningKey:
    """A new random ed25519 key with the given key version."""
    return SigningKey(secrets.token_bytes(32), version)


def signing_key_from_seed(seed: bytes, version: str) -> SigningKey:
    """Rebuild a key from its 32-byte seed, as the appendix's test vectors do."""
    return SigningKey(seed, version)


def encode_signing_key(key: SigningKey) -> str:
    """The key file line "ed25519 <version> <unpadded base64 seed>"."""
    return f"{key.alg} {key.version} {unpadded_base64_encode(key.seed)}"


def decode_signing_key(text: str) -> SigningKey:
    """Read the first key from key file text (see `encode_signing_key`).

    Raises ValueError if the text holds no well-formed ed25519 key.
    """
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or parts[0] != ED25519:
            raise ValueError("expected 'ed25519 <version> <base64 seed>'")
        seed = unpadded_base64_decode(parts[2])
        if len(seed) != 32:
            raise ValueError("an ed25519 seed is 32 bytes")
        return SigningKey(seed, parts[1])
    raise ValueError("no signing key found")


def _signable_bytes(obj: JsonDict) -> bytes:
    """appendices/#signing-details: sign everything except `signatures` and `unsigned`."""
    stripped = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return encode_canonical_json(stripped, strict=False)


def sign_json(obj: JsonDict, *, server_name: str, key: SigningKey) -> JsonDict:
    """Return a copy of `obj` with this server's signature added under `signatures`.

    Existing signatures from other entities and the `unsigned` object are kept as they
    are, since neither is covered by the signature.
    """
    signature = unpadded_base64_encode(key.sign(_signable_bytes(obj)))
    signed = copy.deepcopy(obj)
    signatures: dict[str, Any] = signed.setdefault("signatures", {})
    signatures.setdefault(server_name, {})[key.key_id] = signature
    return signed


def verify_json(obj: JsonDict, *, server_name: str, key_id: str, verify_key: bytes) -> None:
    """Check `obj` carries a valid signature by `server_name` with `key_id`.

    Follows appendices/#checking-for-a-signature for one known key; looking up which keys
    to try is the caller's business. Raises `SignatureError` when the check fails.
    """
    if not key_id.startswith(ED25519 + ":"):
        raise SignatureError(f"unsupported signing algorithm in {key_id!r}")
    signatures = obj.get("signatures")
    entity = signatures.get(server_name) if isinstance(signatures, dict) else None
    if not isinstance(entity, dict):
        raise SignatureError(f"no signatures from {server_name}")
    encoded = entity.get(key_id)
    if not isinstance(encoded, str):
        raise SignatureError(f"no signature from {server_name} with key {key_id}")
    try:
        signature = unpadded_base64_decode(encoded)
        nacl.signing.VerifyKey(verify_key).verify(_signable_bytes(obj), signature)
    except (ValueError, nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError) as exc:
        raise SignatureError(f"bad signature from {server_name} with key {key_id}") from exc
