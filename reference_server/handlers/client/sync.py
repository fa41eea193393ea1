# SPDX-License-Identifier: Apache-2.0
"""sync.yaml, typing.yaml, receipts.yaml, read_markers.yaml: what clients learn live."""
from __future__ import annotations

from ... import errors
from ...http.request import Request
from ...services.ephemeral import ReceiptService
from ...services.filtering import parse_filter_param
from ...services.membership import MembershipService
from ...services.sync import SyncRequest, SyncService, SyncToken
from ...services.typing import TypingService
from ...types import JsonDict


class SyncHandlers:
    def __init__(self, *, sync: SyncService, typing: TypingService, receipts: ReceiptService,
                 membership: MembershipService, load_filter, event_in_room) -> None:
        self._sync = sync
        self._typing = typing
        self._receipts = receipts
        self._membership = membership
        self._load_filter = load_filter
        self._event_in_room = event_in_room

    async def sync(self, request: Request) -> JsonDict:
        user = request.user
        since = request.query.get("since")
        sync_filter = parse_filter_param(request.query.get("filter"),
                                         lambda fid: self._load_filter(user.user_id, fid))
        return await self._sync.sync(SyncRequest(
            user_id=user.user_id, device_id=user.device_id,
            since=SyncToken.parse(since) if since else None,
            timeout_ms=request.query.get("timeout", 0),
            full_state=request.query.get("full_state", False),
            sync_filter=sync_filter,
        ))

    def _require_joined(self, room_id: str, user_id: str) -> None:
        if self._membership.membership(self._membership.resolve_room(room_id), user_id) != "join":
            raise errors.forbidden("You are not joined to this room.")

    async def set_typing(self, request: Request) -> JsonDict:
        user_id = request.user.user_id
        if request.path["userId"] != user_id:
            raise errors.forbidden("You may only set your own typing state.")
        room_id = request.path["roomId"]
        self._require_joined(room_id, user_id)
        typing = request.body["typing"]
        self._typing.set_typing(room_id, user_id, typing, request.body.get("timeout", 30000))
        return {}

    async def post_receipt(self, request: Request) -> JsonDict:
        room_id, event_id = request.path["roomId"], request.path["eventId"]
        receipt_type = request.path["receiptType"]
        self._require_joined(room_id, request.user.user_id)
        self._event_in_room(room_id, event_id)
        thread_id = request.body.get("thread_id")
        if thread_id == "":
            raise errors.invalid_param("thread_id must be a non-empty string.")
        if receipt_type == "m.fully_read" and thread_id is not None:
            raise errors.bad_json("m.fully_read receipts cannot carry a thread_id.")
        self._receipts.post(room_id, request.user.user_id, receipt_type, event_id, thread_id)
        return {}

    async def set_read_marker(self, request: Request) -> JsonDict:
        room_id = request.path["roomId"]
        user_id = request.user.user_id
        self._require_joined(room_id, user_id)
        for key, receipt_type in (("m.fully_read", "m.fully_read"), ("m.read", "m.read"),
                                  ("m.read.private", "m.read.private")):
            event_id = request.body.get(key)
            if event_id:
                self._event_in_room(room_id, event_id)
                self._receipts.post(room_id, user_id, receipt_type, event_id, None)
        return {}
