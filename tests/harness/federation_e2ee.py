# SPDX-License-Identifier: Apache-2.0
"""A fake peer's end-to-end encryption: the device lists and keys it publishes for its
users, and the EDUs by which it tells the target about changes.

    keys = PeerKeys()
    peer = fake_homeserver(handle_keys(), handle_user_keys(keys))
    bob = peer.user_id("bob")
    keys.add_device(bob, "BOBPHONE")
    peer.client().send_transaction(edus=[keys.device_list_update(bob, "BOBPHONE")])

Spec: server-server-api/#device-management, #end-to-end-encryption,
#send-to-device-messaging.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.harness.e2ee import DeviceKeys
from tests.harness.federation_room import server_of
from tests.harness.federation_routes import FEDERATION_V1, Request, Route, target_fault

if TYPE_CHECKING:
    from tests.harness.federation_server import FakeHomeserver

JsonDict = dict[str, Any]
Handler = tuple[Route, ...]


@dataclass
class PeerKeys:
    """The devices of the peer's users, each update numbered as its server would."""

    devices: dict[str, dict[str, DeviceKeys]] = field(default_factory=dict)
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    stream_ids: dict[str, int] = field(default_factory=dict)
    one_time_keys: dict[tuple[str, str], list[JsonDict]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_device(self, user_id: str, device_id: str, *, name: str | None = None,
                   one_time_keys: int = 0) -> DeviceKeys:
        """A new device with keys (and `one_time_keys` of them to claim)."""
        keys = DeviceKeys.for_device(user_id, device_id)
        with self.lock:
            self.devices.setdefault(user_id, {})[device_id] = keys
            if name is not None:
                self.names[(user_id, device_id)] = name
            self.one_time_keys[(user_id, device_id)] = [
                {k: v} for k, v in keys.one_time_keys(one_time_keys).items()]
            self.stream_ids[user_id] = self.stream_ids.get(user_id, 0) + 1
        return keys

    def device_list_update(self, user_id: str, device_id: str, *,
                           prev_id: list[int] | None = None) -> JsonDict:
        """The m.device_list_update EDU for the device's latest change; `prev_id`
        defaults to the update before it."""
        stream_id = self.stream_ids[user_id]
        content: JsonDict = {
            "user_id": user_id, "device_id": device_id, "stream_id": stream_id,
            "prev_id": prev_id if prev_id is not None else
            ([stream_id - 1] if stream_id > 1 else []),
            "keys": self.devices[user_id][device_id].device_keys()}
        return {"edu_type": "m.device_list_update", "content": content}

    def device_json(self, user_id: str, device_id: str) -> JsonDict:
        return self.devices[user_id][device_id].device_keys()

    def _listing(self, user_id: str) -> JsonDict:
        devices = []
        for device_id in self.devices.get(user_id, {}):
            device = {"device_id": device_id, "keys": self.device_json(user_id, device_id)}
            if (user_id, device_id) in self.names:
                device["device_display_name"] = self.names[(user_id, device_id)]
            devices.append(device)
        return {"user_id": user_id, "stream_id": self.stream_ids.get(user_id, 0),
                "devices": devices}

    def _query(self, wanted: JsonDict) -> JsonDict:
        found: JsonDict = {}
        for user_id, device_ids in wanted.items():
            found[user_id] = {
                device_id: {**self.device_json(user_id, device_id), "unsigned": (
                    {"device_display_name": self.names[(user_id, device_id)]}
                    if (user_id, device_id) in self.names else {})}
                for device_id in self.devices.get(user_id, {})
                if not device_ids or device_id in device_ids}
        return {"device_keys": found}

    def _claim(self, wanted: JsonDict) -> JsonDict:
        claimed: JsonDict = {}
        for user_id, devices in wanted.items():
            for device_id, algorithm in devices.items():
                waiting = self.one_time_keys.get((user_id, device_id)) or []
                match = next((k for k in waiting if next(iter(k)).startswith(algorithm + ":")),
                             None)
                if match is not None:
                    waiting.remove(match)
                    claimed.setdefault(user_id, {})[device_id] = match
        return {"one_time_keys": claimed}


def _own_users(peer: FakeHomeserver, request: Request, user_ids: Any) -> None:
    for user_id in user_ids:
        if server_of(user_id) != peer.server_name:
            raise target_fault(f"{request.origin} asked this peer about {user_id!r}, "
                               "who is not its user")


def _body_map(request: Request, field_name: str) -> JsonDict:
    value = (request.json or {}).get(field_name)
    if not isinstance(value, dict):
        raise target_fault(f"the body's {field_name} is not an object", "M_BAD_JSON")
    return value


def handle_user_keys(keys: PeerKeys) -> Handler:
    """Answers /user/devices/{userId}, /user/keys/query and /user/keys/claim about the
    peer's users from `keys`.

    Spec: server-server-api/#get_matrixfederationv1userdevicesuserid,
    #post_matrixfederationv1userkeysquery, #post_matrixfederationv1userkeysclaim.
    """
    def devices(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        _own_users(peer, request, [params["userId"]])
        with keys.lock:
            return keys._listing(params["userId"])

    def query(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        wanted = _body_map(request, "device_keys")
        _own_users(peer, request, wanted)
        with keys.lock:
            return keys._query(wanted)

    def claim(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        wanted = _body_map(request, "one_time_keys")
        _own_users(peer, request, wanted)
        with keys.lock:
            return keys._claim(wanted)

    return (Route("GET", FEDERATION_V1 + "/user/devices/{userId}", devices),
            Route("POST", FEDERATION_V1 + "/user/keys/query", query),
            Route("POST", FEDERATION_V1 + "/user/keys/claim", claim))


def direct_to_device(sender: str, event_type: str, messages: JsonDict, *,
                     message_id: str | None = None) -> JsonDict:
    """An m.direct_to_device EDU (a fresh message ID unless one is given)."""
    return {"edu_type": "m.direct_to_device", "content": {
        "sender": sender, "type": event_type, "messages": messages,
        "message_id": message_id or secrets.token_hex(8)}}
