# SPDX-License-Identifier: Apache-2.0
"""Is this a valid PDU for its room version? (server-server-api/#checks-performed-on-receipt-of-a-pdu, step 1)

Sources: the `pdu_v1` … `pdu_v12` definitions (required keys, edge formats, edge counts,
depth limits), client-server-api/#size-limits (64 KiB and 255-byte fields), and the
canonical JSON rules room version 6 began enforcing. An event failing these is dropped,
not rejected, so this raises `EventFormatError` rather than `AuthError`.
"""
from __future__ import annotations

from typing import Any

from .canonical_json import CanonicalJsonError, check_canonical_json, encode_canonical_json
from .errors import EventFormatError
from .room_versions import RoomVersion
from .types import JsonDict

MAX_PDU_BYTES = 65536
MAX_ID_BYTES = 255
MAX_PREV_EVENTS = 20
MAX_AUTH_EVENTS = 10

_BASE_KEYS = ("sender", "origin_server_ts", "type", "content", "depth", "hashes", "signatures")


def check_event_format(pdu: JsonDict, version: RoomVersion) -> None:
    """Raise `EventFormatError` unless `pdu` has the shape `version` requires."""
    _check_required_keys(pdu, version)
    _check_types(pdu)
    _check_edges(pdu, version)
    if not 0 <= pdu["depth"] <= version.max_depth:
        raise EventFormatError(f"depth {pdu['depth']} is out of range")
    for key in ("sender", "room_id", "state_key", "type", "event_id"):
        value = pdu.get(key)
        if isinstance(value, str) and len(value.encode("utf-8")) > MAX_ID_BYTES:
            raise EventFormatError(f"{key} is longer than {MAX_ID_BYTES} bytes")
    if version.strict_canonical_json:
        try:
            check_canonical_json(pdu)
        except CanonicalJsonError as exc:
            raise EventFormatError(f"not canonical JSON: {exc}") from exc
    try:
        size = len(encode_canonical_json(pdu, strict=False))
    except CanonicalJsonError as exc:
        raise EventFormatError(f"not encodable: {exc}") from exc
    if size > MAX_PDU_BYTES:
        raise EventFormatError(f"event is {size} bytes, over {MAX_PDU_BYTES}")


def _check_required_keys(pdu: JsonDict, version: RoomVersion) -> None:
    required = list(_BASE_KEYS) + ["prev_events", "auth_events"]
    is_create = pdu.get("type") == "m.room.create" and pdu.get("state_key") == ""
    if not (version.room_id_from_create_event and is_create):
        required.append("room_id")  # v12: omitted from (only) the create event
    if version.event_id_in_pdu:
        required.append("event_id")
    missing = [key for key in required if key not in pdu]
    if missing:
        raise EventFormatError(f"missing {', '.join(missing)}")


def _check_types(pdu: JsonDict) -> None:
    expected: dict[str, Any] = {
        "sender": str, "type": str, "content": dict, "hashes": dict, "signatures": dict,
        "room_id": str, "state_key": str, "event_id": str, "unsigned": dict,
    }
    for key, kind in expected.items():
        if key in pdu and not isinstance(pdu[key], kind):
            raise EventFormatError(f"{key} must be a {kind.__name__}")
    for key in ("origin_server_ts", "depth"):
        if isinstance(pdu[key], bool) or not isinstance(pdu[key], int):
            raise EventFormatError(f"{key} must be an integer")
    if not isinstance(pdu["hashes"].get("sha256"), str):
        raise EventFormatError("hashes.sha256 must be a string")


def _check_edges(pdu: JsonDict, version: RoomVersion) -> None:
    for key, limit in (("prev_events", MAX_PREV_EVENTS), ("auth_events", MAX_AUTH_EVENTS)):
        edges = pdu[key]
        if not isinstance(edges, list):
            raise EventFormatError(f"{key} must be a list")
        if len(edges) > limit:
            raise EventFormatError(f"{key} has more than {limit} entries")
        for entry in edges:
            if version.event_id_in_pdu:
                ok = (
                    isinstance(entry, list) and len(entry) == 2
                    and isinstance(entry[0], str) and isinstance(entry[1], dict)
                )
            else:
                ok = isinstance(entry, str)
            if not ok:
                raise EventFormatError(f"malformed {key} entry {entry!r}")
