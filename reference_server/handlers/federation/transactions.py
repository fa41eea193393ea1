# SPDX-License-Identifier: Apache-2.0
"""transactions.yaml: PDUs and EDUs pushed to us by other servers."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from ... import errors
from ...federation.pdu_checks import PduRejected
from ...http.request import Request
from ...services.remote_events import RemoteEvents
from ...services.ephemeral import ReceiptService
from ...services.typing import TypingService
from ...types import JsonDict

log = logging.getLogger(__name__)


class TransactionHandlers:
    def __init__(self, *, remote: RemoteEvents, typing: TypingService, receipts: ReceiptService,
                 is_member_room, acl_allows,
                 edu_handlers: Mapping[str, Callable[[str, JsonDict], None]] = {}) -> None:
        self._remote = remote
        self._edu_handlers = edu_handlers  # other EDU types: (origin, content) -> None
        self._typing = typing
        self._receipts = receipts
        self._acl_allows = acl_allows
        self._is_member_room = is_member_room
        self._seen: dict[tuple[str, str], JsonDict] = {}

    async def send_transaction(self, request: Request) -> JsonDict:
        origin, txn_id = request.server, request.path["txnId"]
        if (origin, txn_id) in self._seen:
            return self._seen[(origin, txn_id)]  # a retried transaction: same answer
        results: JsonDict = {}
        for pdu in request.body.get("pdus", []):
            event_id, result = await self._one_pdu(origin, pdu)
            if event_id:
                results[event_id] = result
        for edu in request.body.get("edus", []):
            self._one_edu(origin, edu)
        answer = {"pdus": results}
        self._seen[(origin, txn_id)] = answer
        return answer

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
