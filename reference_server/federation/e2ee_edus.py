# SPDX-License-Identifier: Apache-2.0
"""End-to-end encryption EDUs for other servers: our users' device list and cross-signing
key updates, and send-to-device messages for their users.

Spec: server-server-api/#device-management — `m.device_list_update` goes to every
server sharing a room with the user, one per change, chained by `stream_id`/`prev_id`;
#end-to-end-encryption (`m.signing_key_update`); #send-to-device-messaging
(`m.direct_to_device`).
"""
from __future__ import annotations

from collections.abc import Callable

from ..services.device_lists import DeviceChange
from ..types import DeviceId, JsonDict, RoomId, UserId
from .sender import FederationSender


class E2eeEdus:
    def __init__(self, *, sender: FederationSender, server_name: str,
                 rooms_of: Callable[[UserId], list[RoomId]],
                 servers_in_room: Callable[[RoomId], set[str]],
                 device_keys: Callable[[UserId, DeviceId], JsonDict | None],
                 cross_signing_keys: Callable[[UserId], dict[str, JsonDict]]) -> None:
        self._sender = sender
        self._server_name = server_name
        self._rooms_of = rooms_of
        self._servers_in_room = servers_in_room
        self._device_keys = device_keys  # (user, device) -> keys with unsigned, or None
        self._cross_signing_keys = cross_signing_keys  # user -> usage -> key

    def _servers_sharing_a_room(self, user_id: UserId) -> set[str]:
        servers = set().union(*map(self._servers_in_room, self._rooms_of(user_id)))
        return servers - {self._server_name}

    def device_changed(self, change: DeviceChange) -> None:
        """`m.device_list_update` for one added, changed or deleted device."""
        content: JsonDict = {"user_id": change.user_id, "device_id": change.device_id,
                             "stream_id": change.stream_id,
                             "prev_id": [change.prev_id] if change.prev_id else []}
        keys = None if change.deleted else self._device_keys(change.user_id, change.device_id)
        if change.deleted:
            content["deleted"] = True
        elif keys is not None:
            name = keys.pop("unsigned", {}).get("device_display_name")
            content["keys"] = keys
            if name is not None:
                content["device_display_name"] = name
        self._sender.send_edu(self._servers_sharing_a_room(change.user_id),
                   {"edu_type": "m.device_list_update", "content": content})

    def signing_keys_changed(self, user_id: UserId) -> None:
        """`m.signing_key_update` with the user's master and self-signing keys."""
        keys = self._cross_signing_keys(user_id)
        content: JsonDict = {"user_id": user_id}
        for usage in ("master", "self_signing"):
            if usage in keys:
                content[f"{usage}_key"] = keys[usage]
        self._sender.send_edu(self._servers_sharing_a_room(user_id),
                   {"edu_type": "m.signing_key_update", "content": content})

    def direct_to_device(self, destination: str, sender: UserId, event_type: str,
                         message_id: str, messages: dict) -> None:
        self._sender.send_edu({destination}, {"edu_type": "m.direct_to_device", "content": {
            "sender": sender, "type": event_type, "message_id": message_id,
            "messages": messages}})

