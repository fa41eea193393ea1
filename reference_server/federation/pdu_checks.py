# SPDX-License-Identifier: Apache-2.0
"""The checks every received PDU goes through before it may touch a room.

Spec (server-server, checks performed on receipt of a PDU), in order: a valid event
format, valid signatures of every server that must sign it, a matching content hash
(otherwise the event is kept only in redacted form), then the authorization rules —
against its own auth events, against the state before it, and against current state.
The first two steps are here; the authorization steps need the room and live in
`services.remote_events`.
"""
from __future__ import annotations

from ..protocol.errors import EventFormatError
from ..protocol.event_format import check_event_format
from ..protocol.event_ids import compute_event_id
from ..protocol.events import required_signers
from ..protocol.hashes import check_content_hash
from ..protocol.redaction import redact
from ..protocol.room_versions import RoomVersion
from ..protocol.signing import SignatureError, verify_json
from ..types import EventId, JsonDict
from .keyring import KeyNotFound, KeyRing


class PduRejected(Exception):
    """The PDU failed a check and must be dropped (not stored, not relayed)."""


class PduChecker:
    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring

    async def check(self, pdu: JsonDict, version: RoomVersion) -> tuple[EventId, JsonDict]:
        """Run format, signature and hash checks; returns (event ID, PDU as it may be stored)."""
        try:
            check_event_format(pdu, version)
        except EventFormatError as error:
            raise PduRejected(f"bad event format: {error}") from None
        await self.check_signatures(pdu, version)
        event_id = compute_event_id(pdu, version)
        if not check_content_hash(pdu):
            # Spec: a hash mismatch means the content was tampered with; keep only the
            # redacted form (its signature still proves the essential keys).
            pdu = redact(pdu, version)
        return event_id, pdu

    async def check_signatures(self, pdu: JsonDict, version: RoomVersion) -> None:
        redacted = redact(pdu, version)
        redacted["signatures"] = pdu.get("signatures", {})
        for server in required_signers(pdu, version):
            if not await self._signed_by(redacted, server, pdu.get("origin_server_ts", 0)):
                raise PduRejected(f"the event lacks a valid signature from {server}")

    async def _signed_by(self, redacted: JsonDict, server: str, at_ms: int) -> bool:
        signatures = (redacted.get("signatures") or {}).get(server) or {}
        for key_id in signatures:
            if not key_id.startswith("ed25519:"):
                continue
            try:
                verify_key = await self._keyring.verify_key(server, key_id, valid_at_ms=at_ms)
                verify_json(redacted, server_name=server, key_id=key_id, verify_key=verify_key)
            except (KeyNotFound, SignatureError):
                continue
            return True
        return False
