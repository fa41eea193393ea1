# SPDX-License-Identifier: Apache-2.0
"""Ephemeral events for other servers: our users' typing, public read receipts, presence.

Spec (server-server, typing notifications and receipts): sent as EDUs to every other
server with a member joined to the room; private receipts (`m.read.private`) never leave
this server. Spec (server-server, presence): a user's presence goes to the servers that
would be interested, those sharing a room with the user.
"""
from __future__ import annotations

from ..types import EventId, RoomId, UserId
from .sender import FederationSender


class EduRelay:
    def __init__(self, *, sender: FederationSender, servers_in_room, rooms_of,
                 server_name: str) -> None:
        self._sender = sender
        self._servers_in_room = servers_in_room  # room ID -> servers with joined members
        self._rooms_of = rooms_of  # user ID -> the rooms they are joined to
        self._server_name = server_name

    def _destinations(self, room_id: RoomId) -> set[str]:
        return self._servers_in_room(room_id) - {self._server_name}

    def _is_local(self, user_id: UserId) -> bool:
        return user_id.endswith(":" + self._server_name)

    def typing(self, room_id: RoomId, user_id: UserId, typing: bool) -> None:
        if self._is_local(user_id):
            self._send(room_id, {"edu_type": "m.typing", "content": {
                "room_id": room_id, "user_id": user_id, "typing": typing}})

    def receipt(self, room_id: RoomId, user_id: UserId, receipt_type: str, event_id: EventId,
                ts: int, thread_id: str | None) -> None:
        if not self._is_local(user_id) or receipt_type != "m.read":
            return
        data = {"ts": ts, **({"thread_id": thread_id} if thread_id else {})}
        self._send(room_id, {"edu_type": "m.receipt", "content": {room_id: {receipt_type: {
            user_id: {"event_ids": [event_id], "data": data}}}}})

    def presence(self, user_id: UserId, event: dict | None) -> None:
        if not self._is_local(user_id) or event is None:
            return
        update = {"user_id": user_id, **event["content"]}
        destinations = set().union(*(self._destinations(r) for r in self._rooms_of(user_id)))
        self._sender.send_edu(destinations, {"edu_type": "m.presence", "content": {"push": [update]}})

    def _send(self, room_id: RoomId, edu: dict) -> None:
        self._sender.send_edu(self._destinations(room_id), edu)

