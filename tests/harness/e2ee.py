# SPDX-License-Identifier: Apache-2.0
"""End-to-end encryption for tests: a device's keys, cross-signing keys, the key and
send-to-device endpoints, and checks on what /sync reports about them.

    alice_keys = DeviceKeys.of(alice)
    upload_keys(alice, device_keys=alice_keys.device_keys(),
                one_time_keys=alice_keys.one_time_keys(2))
    claimed = claim_keys(bob, {alice.user_id: {alice.device_id: "signed_curve25519"}})

Keys are real ed25519 keys and signatures (tests.harness.crypto), so a server that checks
them is satisfied; curve25519 keys are random bytes, which no server can tell apart.
"""
from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.harness.assertions import expect_ok
from tests.harness.checks import Check
from tests.harness.client import Client, user_id_of
from tests.harness.crypto import SigningKey, encode_base64, sign_json

JsonDict = dict[str, Any]
OLM = "m.olm.v1.curve25519-aes-sha2"
MEGOLM = "m.megolm.v1.aes-sha2"
OTK = "signed_curve25519"
# The state event that enables encryption in a room (client-server-api/#mroomencryption).
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}


def _curve25519() -> str:
    return encode_base64(os.urandom(32))


@dataclass
class DeviceKeys:
    """One device's identity key pair and the one-time and fallback keys it made."""

    user_id: str
    device_id: str
    signing: SigningKey
    curve25519: str = field(default_factory=_curve25519)
    _made: int = 0

    @classmethod
    def of(cls, client: Client) -> DeviceKeys:
        return cls.for_device(client.user_id, client.device_id)

    @classmethod
    def for_device(cls, user_id: str, device_id: str) -> DeviceKeys:
        return cls(user_id, device_id, SigningKey.generate(device_id))

    @property
    def ed25519(self) -> str:
        return self.signing.public_key_base64

    def device_keys(self) -> JsonDict:
        """The signed `device_keys` object of /keys/upload."""
        return sign_json({
            "user_id": self.user_id, "device_id": self.device_id, "algorithms": [OLM, MEGOLM],
            "keys": {f"curve25519:{self.device_id}": self.curve25519,
                     f"ed25519:{self.device_id}": self.ed25519},
        }, self.user_id, self.signing)

    def one_time_keys(self, count: int, *, fallback: bool = False) -> JsonDict:
        """`count` fresh signed_curve25519 keys with new key IDs (`fallback`: marked so)."""
        keys = {}
        for _ in range(count):
            self._made += 1
            key: JsonDict = {"key": _curve25519(), **({"fallback": True} if fallback else {})}
            keys[f"{OTK}:AAAA{self._made:04d}"] = sign_json(key, self.user_id, self.signing)
        return keys

    def fallback_key(self) -> JsonDict:
        return self.one_time_keys(1, fallback=True)


@dataclass
class CrossSigningKeys:
    """A user's master, self-signing and user-signing keys (key ID: `ed25519:<public>`)."""

    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls, user: Client | str) -> CrossSigningKeys:
        return cls(user_id_of(user), _named_by_public_key(), _named_by_public_key(),
                   _named_by_public_key())

    def key(self, usage: str) -> JsonDict:
        """The key object of one usage; all but the master key signed by the master key."""
        signing = getattr(self, usage)
        public = signing.public_key_base64
        body = {"user_id": self.user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}
        return body if usage == "master" else sign_json(body, self.user_id, self.master)

    def upload_body(self) -> JsonDict:
        return {"master_key": self.key("master"), "self_signing_key": self.key("self_signing"),
                "user_signing_key": self.key("user_signing")}


def _named_by_public_key() -> SigningKey:
    key = SigningKey.generate()
    return SigningKey(f"ed25519:{key.public_key_base64}", key.nacl_key)


# -- the endpoints ---------------------------------------------------------------------------


def upload_keys(client: Client, **body: Any) -> JsonDict:
    return expect_ok(client.do("POST", ["keys", "upload"], json=body),
                     f"upload keys of {client.user_id}/{client.device_id}")


def query_keys(client: Client, device_keys: dict[str, list[str]]) -> JsonDict:
    return expect_ok(client.do("POST", ["keys", "query"], json={"device_keys": device_keys}),
                     f"query keys of {sorted(device_keys)}")


def claim_keys(client: Client, one_time_keys: dict[str, dict[str, str]]) -> JsonDict:
    return expect_ok(client.do("POST", ["keys", "claim"], json={"one_time_keys": one_time_keys}),
                     f"claim keys of {sorted(one_time_keys)}")


def send_to_device(client: Client, event_type: str, messages: dict[str, dict[str, JsonDict]],
                   txn_id: str | None = None) -> None:
    txn_id = txn_id or f"td{time.monotonic_ns()}-{secrets.token_hex(3)}"
    expect_ok(client.do("PUT", ["sendToDevice", event_type, txn_id],
                        json={"messages": messages}), f"send {event_type} to devices")


def create_encrypted_room(client: Client, **body: Any) -> str:
    """A public room with encryption enabled from the start (m.room.encryption)."""
    return client.create_room(**{"preset": "public_chat", "initial_state": [ENCRYPTION],
                                 **body})


# -- checks on /sync ---------------------------------------------------------------------------


def to_device_has(sender: Client | str, event_type: str,
                  predicate: Callable[[JsonDict], bool] | None = None) -> Check:
    """A to-device event of this type from this sender (whose content matches)."""
    who = user_id_of(sender)

    def test(body: JsonDict) -> str | None:
        events = (body.get("to_device") or {}).get("events") or []
        if any(e.get("sender") == who and e.get("type") == event_type and
               (predicate is None or predicate(e.get("content") or {})) for e in events):
            return None
        seen = [f"{e.get('type')} from {e.get('sender')}" for e in events]
        return f"not in this answer's to_device events ({', '.join(seen) or 'none'})"
    return Check(f"to-device {event_type} from {who}", test)


def to_device_events(body: JsonDict, event_type: str) -> list[JsonDict]:
    return [e for e in (body.get("to_device") or {}).get("events") or []
            if e.get("type") == event_type]


def _device_list(key: str, user: Client | str) -> Check:
    who = user_id_of(user)

    def test(body: JsonDict) -> str | None:
        listed = (body.get("device_lists") or {}).get(key) or []
        return None if who in listed else f"device_lists.{key} is {listed}"
    return Check(f"{who} in device_lists.{key}", test)


def device_list_changed(user: Client | str) -> Check:
    return _device_list("changed", user)


def device_list_left(user: Client | str) -> Check:
    return _device_list("left", user)
