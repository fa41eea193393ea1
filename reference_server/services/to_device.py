# SPDX-License-Identifier: Apache-2.0
"""Send-to-device messaging: events for particular devices, outside any room.

A message waits in its device's inbox at a position on the /sync stream. /sync hands out
what is waiting, the oldest first and at most MAX_PER_SYNC at a time (spec: the server
should limit how many it returns per request); the position reached goes into the next
token, and a message is dropped only once the device syncs with a token past it, which
proves the answer carrying it arrived. The rest follows in the next syncs. Messages for other servers' users leave as
`m.direct_to_device` EDUs; the ones those servers send arrive the same way.

Spec: client-server-api/#send-to-device-messaging, server-server-api/#send-to-device-messaging.
"""
from __future__ import annotations

from collections.abc import Callable

from ..protocol.events import server_of
from ..storage.database import Database
from ..storage.to_device import ToDeviceStore
from ..types import DeviceId, JsonDict, UserId
from .clock import random_string
from .notifier import Notifier

MAX_PER_SYNC = 100  # to-device messages in one /sync answer, at most (as Synapse does)

# (destination, sender, event type, message ID, {user: {device: content}}) -> None
RemoteSend = Callable[[str, UserId, str, str, dict], None]


class ToDeviceMessaging:
    def __init__(self, *, db: Database, store: ToDeviceStore, notifier: Notifier,
                 device_ids: Callable[[UserId], list[DeviceId]], server_name: str) -> None:
        self._db = db
        self._store = store
        self._notifier = notifier
        self._device_ids = device_ids
        self._server_name = server_name
        self._remote_send: RemoteSend | None = None

    def send_remote_with(self, remote_send: RemoteSend) -> None:
        self._remote_send = remote_send

    def send(self, sender: UserId, device_id: DeviceId | None, event_type: str, txn_key: str,
             messages: dict[UserId, dict[DeviceId, JsonDict]]) -> None:
        """Delivers a client's messages once per transaction ID."""
        remote: dict[str, dict] = {}
        with self._db.transaction():
            if not self._store.first_use_of_txn(sender, device_id or "", txn_key):
                return
            for user_id, by_device in messages.items():
                server = server_of(user_id)
                if server == self._server_name:
                    self._deliver(sender, event_type, user_id, by_device)
                else:
                    remote.setdefault(server, {})[user_id] = by_device
        self._notifier.notify()
        for destination, batch in remote.items():
            if self._remote_send is not None:
                self._remote_send(destination, sender, event_type, random_string(24), batch)

    def receive(self, origin: str, content: JsonDict) -> None:
        """An `m.direct_to_device` EDU: its sender must belong to the sending server, and
        a message ID already received is not delivered again."""
        sender, event_type = content.get("sender"), content.get("type")
        message_id, messages = content.get("message_id"), content.get("messages")
        if not (isinstance(sender, str) and server_of(sender) == origin and
                isinstance(event_type, str) and isinstance(message_id, str) and
                isinstance(messages, dict)):
            return
        with self._db.transaction():
            if not self._store.first_receipt(origin, message_id):
                return
            for user_id, by_device in messages.items():
                if isinstance(user_id, str) and server_of(user_id) == self._server_name and \
                        isinstance(by_device, dict):
                    self._deliver(sender, event_type, user_id, by_device)
        self._notifier.notify()

    def _deliver(self, sender: UserId, event_type: str, user_id: UserId,
                 by_device: dict[DeviceId, JsonDict]) -> None:
        devices = self._device_ids(user_id)
        for device_id, content in by_device.items():
            if not isinstance(content, dict):
                continue
            targets = devices if device_id == "*" else [d for d in devices if d == device_id]
            event = {"sender": sender, "type": event_type, "content": content}
            for target in targets:
                self._store.deliver(user_id, target, self._db.next_stream_id(), event)

    def for_sync(self, user_id: UserId, device_id: DeviceId | None, since: int | None,
                 upto: int) -> tuple[list[JsonDict], int]:
        """What waits for the device up to `upto`, after dropping what `since` (the
        to-device position of the client's token) covers; and the position this answer
        reaches: `upto`, or the last message given when more are waiting."""
        if device_id is None:
            return [], upto
        if since is not None:
            with self._db.transaction():
                self._store.acknowledge(user_id, device_id, since)
        waiting = self._store.pending(user_id, device_id, upto, MAX_PER_SYNC + 1)
        given = waiting[:MAX_PER_SYNC]
        reached = given[-1][0] if len(waiting) > MAX_PER_SYNC else upto
        return [event for _, event in given], reached

    def device_changed(self, user_id: UserId, device_id: DeviceId, deleted: bool) -> None:
        """A deleted device's inbox goes with it."""
        if deleted:
            with self._db.transaction():
                self._store.delete_device(user_id, device_id)
