# SPDX-License-Identifier: Apache-2.0
"""transactions.yaml: PDUs and EDUs pushed to us by other servers."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import trio

from ... import errors
from ...federation.pdu_checks import PduRejected
from ...http.request import Request
from ...services.remote_events import RemoteEvents
from ...services.ephemeral import ReceiptService
from ...services.presence import PresenceService
from ...services.typing import TypingService
from ...storage.inbound_transactions import InboundTransactionStore
from ...types import JsonDict

log = logging.getLogger(__name__)

PRESENCE_STATES = ("online", "unavailable", "offline")


class TransactionHandlers:
    def __init__(self, *, remote: RemoteEvents, typing: TypingService, receipts: ReceiptService,
                 presence: PresenceService, transactions: InboundTransactionStore, clock,
                 is_member_room, acl_allows,
                 edu_handlers: Mapping[str, Callable[[str, JsonDict], None]] = {}) -> None:
        self._remote = remote
        self._presence = presence
        self._transactions = transactions
        self._clock = clock
        self._origin_locks: dict[str, trio.Lock] = {}
        self._edu_handlers = edu_handlers  # other EDU types: (origin, content) -> None
        self._typing = typing
        self._receipts = receipts
        self._acl_allows = acl_allows
        self._is_member_room = is_member_room

    async def send_transaction(self, request: Request) -> JsonDict:
        """Process a transaction once; a retry of it (same origin and txnId) gets the
        recorded answer. One transaction per origin at a time, so a retry sent while the
        first attempt is still being processed waits for its answer."""
        origin, txn_id = request.server, request.path["txnId"]
        async with self._origin_locks.setdefault(origin, trio.Lock()):
            answer = self._transactions.answer(origin, txn_id)
            if answer is None:
                answer = await self._process(origin, request.body)
                self._transactions.record(origin, txn_id, answer, now_ms=self._clock())
        return answer

    async def _process(self, origin: str, body: JsonDict) -> JsonDict:
        """Each PDU on its own (one rejected PDU does not stop the others), then the EDUs."""
        results: JsonDict = {}
        for pdu in body.get("pdus", []):
            event_id, result = await self._one_pdu(origin, pdu)
            if event_id:
                results[event_id] = result
        for edu in body.get("edus", []):
            self._one_edu(origin, edu)
        return {"pdus": results}

    async def _one_pdu(self, origin: str, pdu: JsonDict) -> tuple[str | None, JsonDict]:
        room_id = pdu.get("room_id") if isinstance(pdu, dict) else None
        if not isinstance(room_id, str) or not self._is_member_room(room_id):
            return None, {}
        if not self._acl_allows(origin, room_id):
            # Spec (server ACLs): PDUs from a denied server are refused.
            return self._remote.event_id_of(room_id, pdu), {
                "error": f"{origin} is denied by the room's server ACL"}
        try:
            stored = await self._remote.receive_from(origin, room_id, pdu)
        except PduRejected as error:
            log.warning("rejected a PDU from %s in %s: %s", origin, room_id, error)
            return self._remote.event_id_of(room_id, pdu), {"error": str(error)}
        except errors.MatrixError as error:
            return self._remote.event_id_of(room_id, pdu), {"error": error.message}
        return stored.event_id, {}

    def _one_edu(self, origin: str, edu: JsonDict) -> None:
        if not isinstance(edu, dict):
            return
        content = edu.get("content") or {}
        if edu.get("edu_type") == "m.typing":
            user_id, room_id = content.get("user_id"), content.get("room_id")
            if isinstance(user_id, str) and user_id.endswith(":" + origin) and \
                    isinstance(room_id, str) and self._is_member_room(room_id) and \
                    self._acl_allows(origin, room_id):  # MSC4163: ACLs cover typing EDUs
                self._typing.set_typing(room_id, user_id, bool(content.get("typing")), 30000)
        elif edu.get("edu_type") == "m.receipt":
            self._receipt_edu(origin, content)
        elif edu.get("edu_type") == "m.presence":
            self._presence_edu(origin, content)
        elif isinstance(content, dict) and edu.get("edu_type") in self._edu_handlers:
            self._edu_handlers[edu["edu_type"]](origin, content)

    def _receipt_edu(self, origin: str, content: JsonDict) -> None:
        """Public read receipts of the origin's users, for rooms this server is in."""
        for room_id, by_type in content.items():
            if not isinstance(by_type, dict) or not self._is_member_room(room_id) or \
                    not self._acl_allows(origin, room_id):  # MSC4163: and receipt EDUs
                continue
            for user_id, receipt in (by_type.get("m.read") or {}).items():
                event_ids = (receipt or {}).get("event_ids") or []
                if not user_id.endswith(":" + origin) or not event_ids:
                    continue
                thread_id = ((receipt or {}).get("data") or {}).get("thread_id")
                self._receipts.post(room_id, user_id, "m.read", event_ids[-1], thread_id)

    def _presence_edu(self, origin: str, content: JsonDict) -> None:
        """Presence of the origin's own users (server-server, presence); updates for
        anyone else's users are ignored."""
        updates = content.get("push") if isinstance(content, dict) else None
        for update in updates if isinstance(updates, list) else []:
            if not isinstance(update, dict):
                continue
            user_id, presence = update.get("user_id"), update.get("presence")
            ago, status = update.get("last_active_ago", 0), update.get("status_msg")
            if not isinstance(user_id, str) or not user_id.endswith(":" + origin) or \
                    presence not in PRESENCE_STATES or not isinstance(ago, int):
                continue
            self._presence.set_remote(user_id, presence,
                                      status if isinstance(status, str) else None,
                                      last_active_ago=ago)
