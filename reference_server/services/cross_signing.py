# SPDX-License-Identifier: Apache-2.0
"""Cross-signing (client-server, end-to-end encryption): a user's master key signs their
self-signing key (which signs their devices) and their user-signing key (which signs
other users' master keys).

Spec: client-server-api/#cross-signing, #post_matrixclientv3keysdevice_signingupload,
#post_matrixclientv3keyssignaturesupload.
"""
from __future__ import annotations

from collections.abc import Callable

from .. import errors
from ..protocol.signing import SignatureError, unpadded_base64_decode, verify_json
from ..storage.database import Database
from ..storage.e2e_keys import E2eKeyStore
from ..types import DeviceId, JsonDict, UserId
from .device_lists import DeviceLists

# Body field → the usage the key must declare.
FIELDS = {"master_key": "master", "self_signing_key": "self_signing",
          "user_signing_key": "user_signing"}


def invalid_signature(message: str) -> errors.MatrixError:
    return errors.MatrixError(400, "M_INVALID_SIGNATURE", message)


def public_key(key: JsonDict) -> tuple[str, bytes]:
    """The key ID (`ed25519:<public key>`) and raw public key of a cross-signing key."""
    (key_id, encoded), = key["keys"].items()
    algorithm, _, name = key_id.partition(":")
    try:
        raw = unpadded_base64_decode(encoded)
    except ValueError:
        raw = b""
    if algorithm != "ed25519" or name != encoded or len(raw) != 32:
        raise errors.invalid_param(f"{key_id!r} is not an ed25519:<public key> key.")
    return key_id, raw


def _unsigned_part(obj: JsonDict) -> JsonDict:
    return {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}


class CrossSigning:
    def __init__(self, *, db: Database, store: E2eKeyStore, device_lists: DeviceLists,
                 device_ids: Callable[[UserId], list[DeviceId]]) -> None:
        self._db = db
        self._store = store
        self._device_lists = device_lists
        self._device_ids = device_ids
        self._listeners: list[Callable[[UserId], None]] = []

    def on_update(self, listener: Callable[[UserId], None]) -> None:
        """Call `listener(user_id)` when a user's master or self-signing key changes."""
        self._listeners.append(listener)

    # uploading keys ---------------------------------------------------------------------
    def needs_auth(self, user_id: UserId, body: JsonDict) -> bool:
        """UIA is skipped for a first master key, or when every key sent is already stored
        as it is (a retry whose answer was lost)."""
        if self._store.cross_signing_key(user_id, "master") is None:
            return False
        return any(body[field] != self._store.cross_signing_key(user_id, usage)
                   for field, usage in FIELDS.items() if body.get(field) is not None)

    def upload(self, user_id: UserId, body: JsonDict) -> None:
        sent = {usage: body[field] for field, usage in FIELDS.items()
                if body.get(field) is not None}
        master = sent.get("master") or self._store.cross_signing_key(user_id, "master")
        if master is None:
            raise errors.missing_param("No master key is available to check the others with.")
        devices = set(self._device_ids(user_id))
        for usage, key in sent.items():
            self._check_key(user_id, usage, key, devices)
            if usage != "master":
                self._check_signed_by(key, user_id, master, f"The {usage} key")
        changed = {u for u, k in sent.items() if self._store.cross_signing_key(user_id, u) != k}
        with self._db.transaction():
            for usage in changed:
                self._store.set_cross_signing_key(user_id, usage, sent[usage])
        self._announce(user_id, changed)

    def _announce(self, user_id: UserId, usages: set[str]) -> None:
        if not usages:
            return
        shared = bool(usages & {"master", "self_signing"})
        # The user-signing key concerns only its owner's clients: not sent to other servers.
        self._device_lists.changed(user_id, None, announce=False)
        if shared:
            for listener in self._listeners:
                listener(user_id)

    @staticmethod
    def _check_key(user_id: UserId, usage: str, key: JsonDict, devices: set[str]) -> None:
        if key["user_id"] != user_id:
            raise errors.invalid_param(f"The {usage} key belongs to {key['user_id']}.")
        if usage not in key["usage"]:
            raise errors.invalid_param(f"The {usage} key does not declare the usage {usage}.")
        key_id, _ = public_key(key)
        if key_id.partition(":")[2] in devices:
            raise errors.forbidden("The public key is already one of your device IDs.")

    @staticmethod
    def _check_signed_by(obj: JsonDict, signer: UserId, key: JsonDict, what: str) -> None:
        key_id, raw = public_key(key)
        try:
            verify_json(obj, server_name=signer, key_id=key_id, verify_key=raw)
        except SignatureError:
            raise invalid_signature(f"{what} has no valid signature by {key_id}.") from None

    # reading keys -----------------------------------------------------------------------
    def keys_for(self, user_id: UserId, viewer: UserId | None) -> dict[str, JsonDict]:
        """Usage → key, with the signatures `viewer` may see: the owner's own, and on the
        master key the viewer's; the user-signing key only for its owner."""
        found = {}
        for usage in FIELDS.values():
            key = self._store.cross_signing_key(user_id, usage)
            if key is None or (usage == "user_signing" and viewer != user_id):
                continue
            if usage == "master":
                for signer, key_id, signature in self._store.signatures(
                        user_id, _master_target(key)):
                    if signer in (user_id, viewer):
                        key.setdefault("signatures", {}).setdefault(signer, {})[key_id] = \
                            signature
            found[usage] = key
        return found

    # uploading signatures ---------------------------------------------------------------
    def upload_signatures(self, requester: UserId, body: JsonDict) -> JsonDict:
        """Stores each valid signature; answers the failures, by user and key ID."""
        failures: JsonDict = {}
        signed_devices: set[DeviceId] = set()
        signed_masters: set[UserId] = set()
        for target, objects in body.items():
            for key_id, signed in objects.items():
                try:
                    device_id = self._one_signature(requester, target, key_id, signed)
                except errors.MatrixError as error:
                    failures.setdefault(target, {})[key_id] = error.to_json()
                    continue
                if device_id is not None:
                    signed_devices.add(device_id)
                else:
                    signed_masters.add(target)
        for device_id in signed_devices:
            self._device_lists.changed(requester, device_id)
        if signed_masters:
            self._announce(requester, {"master"} if requester in signed_masters else
                           {"user_signing"})
        return {"failures": failures}

    def _one_signature(self, requester: UserId, target: UserId, key_id: str,
                       signed: JsonDict) -> DeviceId | None:
        """Checks and stores the requester's signature on one object: another user's
        master key (by the user-signing key), one of their own devices (by the
        self-signing key) or their own master key (by a device). Returns the device."""
        if target != requester:
            self._add(requester, target, signed, self._master(target, key_id),
                      self._cross_signing_signer(requester, "user_signing"))
            return None
        device_keys = self._store.device_keys(requester, key_id)
        if device_keys is not None:
            self._add(requester, target, signed, (key_id, device_keys),
                      self._cross_signing_signer(requester, "self_signing"))
            return key_id
        self._add(requester, target, signed, self._master(target, key_id),
                  self._device_signer(requester, signed))
        return None

    def _master(self, user_id: UserId, key_id: str) -> tuple[str, JsonDict]:
        master = self._store.cross_signing_key(user_id, "master")
        if master is None or public_key(master)[0].partition(":")[2] != key_id:
            raise errors.not_found(f"{user_id} has no key {key_id!r} to sign.")
        return _master_target(master), master

    def _cross_signing_signer(self, user_id: UserId, usage: str) -> tuple[str, bytes]:
        key = self._store.cross_signing_key(user_id, usage)
        if key is None:
            raise errors.not_found(f"You have no {usage} key to check the signature with.")
        return public_key(key)

    def _device_signer(self, user_id: UserId, signed: JsonDict) -> tuple[str, bytes]:
        """The ed25519 key of the device whose signature the object carries."""
        for key_id in (signed.get("signatures") or {}).get(user_id) or {}:
            device_id = key_id.partition(":")[2]
            keys = self._store.device_keys(user_id, device_id) or {}
            encoded = keys.get("keys", {}).get(key_id)
            if key_id.startswith("ed25519:") and isinstance(encoded, str):
                try:
                    return key_id, unpadded_base64_decode(encoded)
                except ValueError:
                    continue
        raise invalid_signature("The master key carries no signature by one of your devices.")

    def _add(self, requester: UserId, target: UserId, signed: JsonDict,
             stored: tuple[str, JsonDict], signer: tuple[str, bytes]) -> None:
        target_key, stored_object = stored
        if _unsigned_part(stored_object) != _unsigned_part(signed):
            raise errors.invalid_param("The signed object differs from the stored key.")
        signer_id, raw = signer
        try:
            verify_json(signed, server_name=requester, key_id=signer_id, verify_key=raw)
        except SignatureError:
            raise invalid_signature(f"No valid signature by {signer_id}.") from None
        signature = signed["signatures"][requester][signer_id]
        with self._db.transaction():
            self._store.add_signature(target, target_key, requester, signer_id, signature)


def _master_target(master: JsonDict) -> str:
    """Where signatures of a master key are filed: by its public key, so that signatures
    of a replaced master key are never shown on the new one."""
    return "master:" + public_key(master)[0]
