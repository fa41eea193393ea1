# SPDX-License-Identifier: Apache-2.0
"""Device keys of this server's users (client-server, end-to-end encryption): uploading
identity, one-time and fallback keys, reading them back, and claiming one-time keys.

Spec: client-server-api/#key-distribution, #one-time-and-fallback-keys.
"""
from __future__ import annotations

from collections.abc import Callable

from .. import errors
from ..storage.database import Database
from ..storage.e2e_keys import E2eKeyStore
from ..types import DeviceId, JsonDict, UserId
from .device_lists import DeviceLists


class E2eKeys:
    def __init__(self, *, db: Database, store: E2eKeyStore, device_lists: DeviceLists,
                 display_names: Callable[[UserId], dict[DeviceId, str | None]]) -> None:
        self._db = db
        self._store = store
        self._device_lists = device_lists
        self._display_names = display_names  # user -> {device ID: display name}

    # uploading ------------------------------------------------------------------------
    def upload(self, user_id: UserId, device_id: DeviceId | None, body: JsonDict) -> JsonDict:
        """Stores what the device publishes; answers its one-time key counts."""
        if device_id is None:
            raise errors.invalid_param("Keys can only be uploaded by a device.")
        device_keys = body.get("device_keys")
        one_time = _split_key_ids(body.get("one_time_keys") or {}, "one_time_keys")
        fallback = _split_key_ids(body.get("fallback_keys") or {}, "fallback_keys")
        keys_changed = False
        with self._db.transaction():
            if device_keys is not None:
                keys_changed = self._set_device_keys(user_id, device_id, device_keys)
            for algorithm, key_id, key in one_time:
                self._add_one_time_key(user_id, device_id, algorithm, key_id, key)
            for algorithm, key_id, key in fallback:
                self._store.set_fallback_key(user_id, device_id, algorithm, key_id, key)
        if keys_changed:
            self._device_lists.changed(user_id, device_id)
        return {"one_time_key_counts": self._store.one_time_key_counts(user_id, device_id)}

    def _set_device_keys(self, user_id: UserId, device_id: DeviceId, keys: JsonDict) -> bool:
        if keys["user_id"] != user_id or keys["device_id"] != device_id:
            raise errors.bad_json("device_keys must name the uploading user and device.")
        stored = self._store.device_keys(user_id, device_id)
        if stored == keys:
            return False
        if stored is not None and stored["keys"] != keys["keys"]:
            # A device's identity keys are what others verify it by: they never change.
            # A client with new keys must use a new device ID.
            raise errors.invalid_param("This device already has different identity keys.")
        self._store.set_device_keys(user_id, device_id, keys)
        return True

    def _add_one_time_key(self, user_id: UserId, device_id: DeviceId, algorithm: str,
                          key_id: str, key: JsonDict | str) -> None:
        existing = self._store.one_time_key(user_id, device_id, algorithm, key_id)
        if existing is not None and existing != key:
            raise errors.invalid_param(f"One-time key {algorithm}:{key_id} already exists "
                                       "with a different value.")
        self._store.add_one_time_key(user_id, device_id, algorithm, key_id, key)

    # reading --------------------------------------------------------------------------
    def counts(self, user_id: UserId, device_id: DeviceId) -> dict[str, int]:
        return self._store.one_time_key_counts(user_id, device_id)

    def unused_fallback_algorithms(self, user_id: UserId, device_id: DeviceId) -> list[str]:
        return self._store.unused_fallback_algorithms(user_id, device_id)

    def device_keys(self, user_id: UserId, device_ids: list[DeviceId] | None = None
                    ) -> dict[DeviceId, JsonDict]:
        """The keys of the user's devices (all when `device_ids` is empty or None), with
        the signatures the user added since and the device's display name."""
        names = self._display_names(user_id)
        found = {}
        for device_id, keys in self._store.all_device_keys(user_id).items():
            if (device_ids and device_id not in device_ids) or device_id not in names:
                continue
            signatures = keys.setdefault("signatures", {})
            for signer, key_id, signature in self._store.signatures(user_id, device_id):
                if signer == user_id:
                    signatures.setdefault(signer, {})[key_id] = signature
            name = names[device_id]
            keys["unsigned"] = {"device_display_name": name} if name is not None else {}
            found[device_id] = keys
        return found

    # claiming -------------------------------------------------------------------------
    def claim(self, wanted: dict[UserId, dict[DeviceId, str]]) -> dict[UserId, JsonDict]:
        """One key per device: its oldest one-time key of the algorithm, else its fallback
        key. Atomic, so a one-time key is handed out at most once."""
        claimed: dict[UserId, JsonDict] = {}
        with self._db.transaction():
            for user_id, devices in wanted.items():
                for device_id, algorithm in devices.items():
                    found = (self._store.take_one_time_key(user_id, device_id, algorithm)
                             or self._store.use_fallback_key(user_id, device_id, algorithm))
                    if found is not None:
                        key_id, key = found
                        claimed.setdefault(user_id, {})[device_id] = {
                            f"{algorithm}:{key_id}": key}
        return claimed

    def device_changed(self, user_id: UserId, device_id: DeviceId, deleted: bool) -> None:
        """A deleted device's keys go with it."""
        if deleted:
            with self._db.transaction():
                self._store.delete_device(user_id, device_id)


def _split_key_ids(keys: JsonDict, field: str) -> list[tuple[str, str, JsonDict | str]]:
    """`<algorithm>:<key ID>` → (algorithm, key ID, key); a malformed name is M_BAD_JSON."""
    split = []
    for name, key in keys.items():
        algorithm, colon, key_id = name.partition(":")
        if not colon or not algorithm or not key_id or ":" in key_id:
            raise errors.bad_json(f"{field} names must be <algorithm>:<key ID>, not {name!r}.")
        split.append((algorithm, key_id, key))
    return split
