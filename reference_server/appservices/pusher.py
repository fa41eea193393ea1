# SPDX-License-Identifier: Apache-2.0
"""Pushing events to application services (application service API, pushing events).

Every event in a room a service is interested in is queued for it in the same database
transaction that stores the event, and pushed in order with `PUT
/_matrix/app/v1/transactions/{txnId}`, retried with the same txnId until accepted.
With `receive_ephemeral` (MSC2409) typing and receipts go along in `ephemeral` (and its
unstable name); private receipts only for users in the service's namespace.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

import httpx

from ..delivery import DeliveryQueues
from ..storage.database import Database
from ..storage.outbox import OutboxStore
from ..types import EventId, JsonDict, RoomId, UserId
from .registry import AppServiceRegistry

log = logging.getLogger(__name__)

MAX_EVENTS, MAX_EPHEMERAL = 100, 100
UNSTABLE_EPHEMERAL = "de.sorunome.msc2409.ephemeral"
CLIENT_KEYS = ("content", "origin_server_ts", "room_id", "sender", "state_key", "type",
               "redacts")


class AppServicePusher(DeliveryQueues):
    def __init__(self, *, db: Database, registry: AppServiceRegistry, room_members,
                 room_aliases, clock, rooms_of=lambda user_id: []) -> None:
        self._rooms_of = rooms_of
        super().__init__(db=db, outbox=OutboxStore(db, table="appservice_outbox",
                                                   key="service_id"),
                         kinds=("event", "ephemeral"), limits=(MAX_EVENTS, MAX_EPHEMERAL),
                         send=self._push, clock=clock)
        self._registry = registry
        self._room_members = room_members
        self._room_aliases = room_aliases
        self._http = httpx.AsyncClient(timeout=30)

    # interest ------------------------------------------------------------------------
    def _interested(self, room_id: RoomId, involved: list[UserId]) -> set[str]:
        users = [*involved, *self._room_members(room_id)]
        return {s.id for s in self._registry.interested(
            room_id, users=users, aliases=self._room_aliases(room_id)) if s.url}

    def queue_event(self, room_id: RoomId, event_id: EventId, pdu: JsonDict) -> set[str]:
        """Queue a stored event for interested services (inside the storing transaction)."""
        involved = [pdu.get("sender", "")]
        if pdu.get("type") == "m.room.member" and isinstance(pdu.get("state_key"), str):
            involved.append(pdu["state_key"])
        services = self._interested(room_id, involved)
        event = {k: pdu[k] for k in CLIENT_KEYS if k in pdu}
        event.update(event_id=event_id, room_id=room_id)
        self.queue(services, "event", event)
        return services

    def typing(self, room_id: RoomId, user_ids: list[UserId]) -> None:
        edu = {"type": "m.typing", "room_id": room_id, "content": {"user_ids": user_ids}}
        self._ephemeral(room_id, edu, private_to=None)

    def receipt(self, room_id: RoomId, user_id: UserId, receipt_type: str, event_id: EventId,
                ts: int, thread_id: str | None) -> None:
        data = {"ts": ts, **({"thread_id": thread_id} if thread_id else {})}
        edu = {"type": "m.receipt", "room_id": room_id,
               "content": {event_id: {receipt_type: {user_id: data}}}}
        private = user_id if receipt_type == "m.read.private" else None
        self._ephemeral(room_id, edu, private_to=private)

    def presence(self, user_id: UserId, event: JsonDict | None) -> None:
        """MSC2409: presence of users a service owns, or shares a room with through them."""
        if event is None:
            return
        rooms = self._rooms_of(user_id)
        services = set()
        for service in self._registry.services:
            if not (service.url and service.receive_ephemeral):
                continue
            if service.owns_user(user_id) or any(
                    any(service.owns_user(m) for m in self._room_members(r)) for r in rooms):
                services.add(service.id)
        if services:
            with self._db.transaction():
                self.queue(services, "ephemeral", event)
            self.flush(services)

    def _ephemeral(self, room_id: RoomId, edu: JsonDict, *, private_to: UserId | None) -> None:
        services = {sid for sid in self._interested(room_id, [])
                    if self._registry.by_id(sid).receive_ephemeral}
        if private_to is not None:  # MSC2409: private receipts only for the owning service
            services = {sid for sid in services if self._registry.by_id(sid).owns_user(private_to)}
        if services:
            with self._db.transaction():
                self.queue(services, "ephemeral", edu)
            self.flush(services)

    # pushing -------------------------------------------------------------------------
    async def _push(self, service_id: str, txn_id: str, events: list[JsonDict],
                    ephemeral: list[JsonDict]) -> bool:
        service = self._registry.by_id(service_id)
        if service is None or not service.url:
            return True  # a service removed from the config, or one that takes no pushes
        body: JsonDict = {"events": events}
        if ephemeral:
            body["ephemeral"] = ephemeral
            body[UNSTABLE_EPHEMERAL] = ephemeral
        url = f"{service.url.rstrip('/')}/_matrix/app/v1/transactions/{quote(txn_id, safe='')}"
        try:
            answer = await self._http.put(url, json=body,
                                          headers={"Authorization": f"Bearer {service.hs_token}"})
        except httpx.HTTPError as error:
            log.info("push to application service %s failed: %s", service_id, error)
            return False
        return 200 <= answer.status_code < 300
