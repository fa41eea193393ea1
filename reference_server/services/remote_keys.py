# SPDX-License-Identifier: Apache-2.0
"""Other servers' users' keys: asked for over federation, their device lists cached and
kept current by the `m.device_list_update` and `m.signing_key_update` EDUs their servers
send.

The device list of a user who shares a room with one of our users is fetched whole
(`/user/devices`) and cached with its `stream_id`. An update whose `prev_id` names the
cached version is applied; any other (a missed update) drops the cache, so the next
query fetches the list again. Users sharing no room with ours are not followed by their
server's EDUs, so their keys are asked for afresh (`/user/keys/query`) every time, and
the cached list of a user who stops sharing rooms with ours is forgotten.

Spec: server-server-api/#device-management, #end-to-end-encryption.
"""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import trio

from ..federation.client import FederationClient, FederationError
from ..protocol.events import server_of
from ..storage.database import Database
from ..storage.device_lists import DeviceListStore
from ..types import DeviceId, EventId, JsonDict, RoomId, UserId
from .device_lists import DeviceLists
from .key_queries import SECTIONS

FEDERATION = "/_matrix/federation/v1"


class RemoteKeys:
    def __init__(self, *, db: Database, store: DeviceListStore, device_lists: DeviceLists,
                 client: FederationClient, is_tracked: Callable[[UserId], bool],
                 is_local: Callable[[UserId], bool],
                 joined_members: Callable[[RoomId], list[UserId]]) -> None:
        self._db = db
        self._store = store
        self._device_lists = device_lists
        self._client = client
        self._is_tracked = is_tracked  # shares a room with one of our users
        self._is_local = is_local
        self._joined_members = joined_members

    # queries ----------------------------------------------------------------------------
    async def query(self, wanted: dict[UserId, list[DeviceId]], answer: JsonDict, *,
                    timeout_s: float) -> None:
        """Fills `answer` (a /keys/query answer) for other servers' users."""
        async with trio.open_nursery() as nursery:
            for server, users in _by_server(wanted).items():
                nursery.start_soon(self._guarded, server, answer, timeout_s,
                                   self._query_server, users)

    async def claim(self, wanted: dict[UserId, dict[DeviceId, str]], answer: JsonDict, *,
                    timeout_s: float) -> None:
        """Fills `answer` (a /keys/claim answer) for other servers' users."""
        async with trio.open_nursery() as nursery:
            for server, users in _by_server(wanted).items():
                nursery.start_soon(self._guarded, server, answer, timeout_s,
                                   self._claim_server, users)

    async def _guarded(self, server: str, answer: JsonDict, timeout_s: float, ask,
                       users: dict) -> None:
        """One server's part; a failure or timeout is listed under `failures`."""
        with trio.move_on_after(timeout_s) as scope:
            try:
                await ask(server, users, answer)
            except FederationError as error:
                answer["failures"][server] = {"status": error.status or 503,
                                              "message": str(error)}
        if scope.cancelled_caught:
            answer["failures"][server] = {"status": 504, "message": "timed out"}

    async def _query_server(self, server: str, users: dict[UserId, list[DeviceId]],
                            answer: JsonDict) -> None:
        untracked = {}
        for user_id, device_ids in users.items():
            if not self._is_tracked(user_id):
                # Its server no longer sends us the user's updates: a cache would go stale.
                with self._db.transaction():
                    self._store.forget_remote_list(user_id)
                untracked[user_id] = device_ids
                continue
            cached = self._store.remote_list(user_id)
            if cached is None:
                cached = await self._fetch_device_list(server, user_id)
            _fill_from_list(answer, user_id, device_ids, cached[1])
        if untracked:
            found = await self._client.request("POST", server, f"{FEDERATION}/user/keys/query",
                                               body={"device_keys": untracked})
            _fill_from_query(answer, untracked, found if isinstance(found, dict) else {})

    async def _fetch_device_list(self, server: str, user_id: UserId) -> tuple[int, JsonDict]:
        found = await self._client.request(
            "GET", server, f"{FEDERATION}/user/devices/{quote(user_id, safe='')}")
        found = found if isinstance(found, dict) else {}
        devices = {d["device_id"]: d for d in found.get("devices") or []
                   if isinstance(d, dict) and isinstance(d.get("device_id"), str)}
        listing = {"devices": devices, **{k: found[k] for k in ("master_key", "self_signing_key")
                                          if isinstance(found.get(k), dict)}}
        stream_id = found.get("stream_id") if isinstance(found.get("stream_id"), int) else 0
        with self._db.transaction():
            self._store.set_remote_list(user_id, stream_id, listing)
        return stream_id, listing

    async def _claim_server(self, server: str, users: dict[UserId, dict[DeviceId, str]],
                            answer: JsonDict) -> None:
        found = await self._client.request("POST", server, f"{FEDERATION}/user/keys/claim",
                                           body={"one_time_keys": users})
        claimed = (found or {}).get("one_time_keys") if isinstance(found, dict) else None
        for user_id, devices in (claimed or {}).items():
            if user_id in users and isinstance(devices, dict):
                answer["one_time_keys"][user_id] = devices

    # EDUs --------------------------------------------------------------------------------
    def device_list_update(self, origin: str, content: JsonDict) -> None:
        """`m.device_list_update`: ignored unless the user belongs to the sending server."""
        user_id, device_id = content.get("user_id"), content.get("device_id")
        stream_id, prev_ids = content.get("stream_id"), content.get("prev_id") or []
        if not (isinstance(user_id, str) and server_of(user_id) == origin and
                isinstance(device_id, str) and isinstance(stream_id, int) and
                isinstance(prev_ids, list)):
            return
        cached = self._store.remote_list(user_id)
        if cached is not None and stream_id <= cached[0]:
            return  # already applied
        with self._db.transaction():
            if cached is not None and cached[0] in prev_ids:
                self._apply(user_id, stream_id, cached[1], device_id, content)
            elif cached is not None:
                self._store.forget_remote_list(user_id)  # missed an update: fetch again
        self._device_lists.remote_changed(user_id)

    def _apply(self, user_id: UserId, stream_id: int, listing: JsonDict, device_id: DeviceId,
               content: JsonDict) -> None:
        devices = listing["devices"]
        if content.get("deleted"):
            devices.pop(device_id, None)
        else:
            device = {"device_id": device_id, **({"keys": content["keys"]}
                                                 if isinstance(content.get("keys"), dict)
                                                 else {})}
            if isinstance(content.get("device_display_name"), str):
                device["device_display_name"] = content["device_display_name"]
            devices[device_id] = device
        self._store.set_remote_list(user_id, stream_id, listing)

    # tracking ends: an event hook (RoomEvents.push_events_to) -----------------------------

    def queue_event(self, room_id: RoomId, event_id: EventId, pdu: JsonDict) -> set[str]:
        """A membership change that leaves a remote user sharing no room with our users
        ends their server's updates to us: the cached list is forgotten, so a query after
        they share a room again fetches it afresh. Called inside the event's transaction,
        after the membership is recorded."""
        if pdu.get("type") != "m.room.member" or \
                (pdu.get("content") or {}).get("membership") == "join":
            return set()
        state_key = pdu.get("state_key", "")
        candidates = {state_key} | (set(self._joined_members(room_id))
                                    if self._is_local(state_key) else set())
        for user_id in candidates:
            if not self._is_local(user_id) and self._store.remote_list(user_id) is not None \
                    and not self._is_tracked(user_id):
                self._store.forget_remote_list(user_id)
        return set()

    def flush(self, targets: set[str]) -> None:
        """Nothing is ever queued for delivery (see queue_event)."""

    def signing_key_update(self, origin: str, content: JsonDict) -> None:
        """`m.signing_key_update`: the user's new master and/or self-signing key."""
        user_id = content.get("user_id")
        if not isinstance(user_id, str) or server_of(user_id) != origin:
            return
        cached = self._store.remote_list(user_id)
        if cached is not None:
            stream_id, listing = cached
            for field in ("master_key", "self_signing_key"):
                if isinstance(content.get(field), dict):
                    listing[field] = content[field]
            with self._db.transaction():
                self._store.set_remote_list(user_id, stream_id, listing)
        self._device_lists.remote_changed(user_id)


def _by_server(wanted: dict[UserId, object]) -> dict[str, dict]:
    grouped: dict[str, dict] = {}
    for user_id, value in wanted.items():
        grouped.setdefault(server_of(user_id), {})[user_id] = value
    return grouped


def _fill_from_list(answer: JsonDict, user_id: UserId, device_ids: list[DeviceId],
                    listing: JsonDict) -> None:
    """A cached `/user/devices` listing, in the shape of a /keys/query answer."""
    devices = {}
    for device_id, device in listing["devices"].items():
        if (device_ids and device_id not in device_ids) or "keys" not in device:
            continue
        keys = dict(device["keys"])
        name = device.get("device_display_name")
        keys["unsigned"] = {"device_display_name": name} if name is not None else {}
        devices[device_id] = keys
    answer["device_keys"][user_id] = devices
    for usage, field in (("master", "master_key"), ("self_signing", "self_signing_key")):
        if field in listing:
            answer[SECTIONS[usage]][user_id] = listing[field]


def _fill_from_query(answer: JsonDict, wanted: dict[UserId, list[DeviceId]],
                     found: JsonDict) -> None:
    """A remote `/user/keys/query` answer, limited to the users we asked about."""
    for section in ("device_keys", "master_keys", "self_signing_keys"):
        for user_id, value in (found.get(section) or {}).items():
            if user_id in wanted and isinstance(value, dict):
                answer[section][user_id] = value
