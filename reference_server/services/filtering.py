# SPDX-License-Identifier: Apache-2.0
"""Event filters (client-server, filtering): which events a filter lets through."""
from __future__ import annotations

import fnmatch
import json

from .. import errors
from ..types import JsonDict


def parse_filter_param(value: str | None, load_stored) -> JsonDict:
    """A `filter` query parameter is inline JSON or the ID of a stored filter."""
    if not value:
        return {}
    if value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise errors.MatrixError(400, "M_INVALID_PARAM", "The filter is not valid JSON.") from None
        if not isinstance(parsed, dict):
            raise errors.MatrixError(400, "M_INVALID_PARAM", "The filter must be a JSON object.")
        return parsed
    return load_stored(value)


def _type_matches(patterns: list[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def event_allowed(event_filter: JsonDict | None, pdu: JsonDict, room_id: str | None = None) -> bool:
    """Spec: `not_*` lists win over their positive counterparts; absent lists allow all."""
    if not event_filter:
        return True
    event_type = pdu.get("type", "")
    sender = pdu.get("sender")
    if _type_matches(event_filter.get("not_types", []), event_type):
        return False
    if "types" in event_filter and not _type_matches(event_filter["types"], event_type):
        return False
    if sender in event_filter.get("not_senders", []):
        return False
    if "senders" in event_filter and sender not in event_filter["senders"]:
        return False
    if room_id is not None:
        if room_id in event_filter.get("not_rooms", []):
            return False
        if "rooms" in event_filter and room_id not in event_filter["rooms"]:
            return False
    if event_filter.get("contains_url") is not None:
        has_url = isinstance(pdu.get("content", {}).get("url"), str)
        if has_url != event_filter["contains_url"]:
            return False
    return True


def room_allowed(room_filter: JsonDict, room_id: str) -> bool:
    if room_id in room_filter.get("not_rooms", []):
        return False
    return "rooms" not in room_filter or room_id in room_filter["rooms"]
