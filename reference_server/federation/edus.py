# SPDX-License-Identifier: Apache-2.0
"""Ephemeral events for other servers: our users' typing and public read receipts.

Spec (server-server, typing notifications and receipts): sent as EDUs to every other
server with a member joined to the room; private receipts (`m.read.private`) never leave
this server.
"""
from __future__ import annotations

from ..protocol.events import server_of
from ..types import EventId, RoomId, UserId
from .sender import FederationSender


class EduRelay:
    def __init__(self, *, sender: FederationSender, db, joined_members, server_name: str) -> None:
        self._sender = sender
        self._db = db
        self._joined_members = joined_members
        self._server_name = server_name

    def _destinations(self, room_id: RoomId) -> set[str]:
        servers = {server_of(u) for u in self._joined_members(room_id)} - {""}
        servers.discard(self._server_name)
        return servers

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

    def _send(self, room_id: RoomId, edu: dict) -> None:
        destinations = self._destinations(room_id)
        if not destinations:
            return
        with self._db.transaction():
            self._sender.queue(destinations, "edu", edu)
        self._sender.flush(destinations)
