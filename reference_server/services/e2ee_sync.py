# SPDX-License-Identifier: Apache-2.0
"""What the end-to-end encryption and send-to-device modules add to /sync.

Spec: client-server-api/#e2e-extensions-to-sync (`device_lists` on incremental syncs,
`device_one_time_keys_count`, `device_unused_fallback_key_types`) and
client-server-api/#extensions-to-sync (`to_device`).
"""
from __future__ import annotations

from ..types import DeviceId, JsonDict, UserId
from .device_lists import DeviceLists
from .e2e_keys import E2eKeys
from .to_device import ToDeviceMessaging


class E2eeSync:
    def __init__(self, *, keys: E2eKeys, device_lists: DeviceLists,
                 to_device: ToDeviceMessaging) -> None:
        self._keys = keys
        self._device_lists = device_lists
        self._to_device = to_device

    def sections(self, user_id: UserId, device_id: DeviceId | None, since: int | None,
                 upto: int, *, to_device_since: int | None) -> tuple[JsonDict, bool, int]:
        """The sections, whether they hold news worth ending a long-poll for, and the
        to-device position they reach (below `upto` when messages are left for later)."""
        events, to_device_reached = self._to_device.for_sync(user_id, device_id,
                                                             to_device_since, upto)
        changed, left = self._device_lists.delta(user_id, since) if since is not None \
            else ([], [])
        body: JsonDict = {
            "to_device": {"events": events},
            "device_lists": {"changed": changed, "left": left},
            "device_one_time_keys_count": self._keys.counts(user_id, device_id)
            if device_id else {},
            "device_unused_fallback_key_types":
                self._keys.unused_fallback_algorithms(user_id, device_id) if device_id else [],
        }
        return body, bool(events or changed or left), to_device_reached
