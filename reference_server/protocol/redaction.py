# SPDX-License-Identifier: Apache-2.0
"""The redaction algorithm (rooms/v1 "Redactions" through rooms/v11 "Redactions").

Redaction keeps only what the protocol needs: the keys that make an event part of the
graph and the content keys the authorisation rules read. Signatures and reference hashes
are computed over the redacted form, so this must match other servers byte for byte.

`unsigned` is not on any version's list of kept keys, so it is removed. A server that
shows a redacted event to clients adds `unsigned.redacted_because` (and whatever else it
serves there) itself, after redacting.
"""
from __future__ import annotations

import copy

from .room_versions import RoomVersion
from .types import JsonDict

# rooms/v1 "Redactions": top-level keys kept in versions 1-10.
_KEPT_TOP_LEVEL_V1 = frozenset({
    "event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
    "signatures", "depth", "prev_events", "prev_state", "auth_events", "origin",
    "origin_server_ts", "membership",
})
# rooms/v11 "Redactions": `origin`, `membership` and `prev_state` are no longer protected.
_KEPT_TOP_LEVEL_V11 = _KEPT_TOP_LEVEL_V1 - {"origin", "membership", "prev_state"}

_POWER_LEVEL_KEYS = (
    "ban", "events", "events_default", "kick", "redact", "state_default", "users",
    "users_default",
)


def _kept_content_keys(event_type: str, version: RoomVersion) -> tuple[str, ...] | None:
    """Content keys an event type keeps; None means keep the whole content."""
    v11 = version.updated_redaction_rules
    if event_type == "m.room.member":
        if version.redaction_keeps_join_authorised:  # v9
            return ("membership", "join_authorised_via_users_server")
        return ("membership",)
    if event_type == "m.room.create":
        return None if v11 else ("creator",)  # v11: the create event keeps all its content
    if event_type == "m.room.join_rules":
        return ("join_rule", "allow") if version.restricted_join_rule else ("join_rule",)  # v8
    if event_type == "m.room.power_levels":
        return _POWER_LEVEL_KEYS + ("invite",) if v11 else _POWER_LEVEL_KEYS
    if event_type == "m.room.aliases" and version.redaction_keeps_aliases:  # until v6
        return ("aliases",)
    if event_type == "m.room.history_visibility":
        return ("history_visibility",)
    if event_type == "m.room.redaction" and v11:
        return ("redacts",)
    return ()


def redact(event: JsonDict, version: RoomVersion) -> JsonDict:
    """A redacted copy of `event` for a room of `version`; the input is left untouched."""
    kept_top = _KEPT_TOP_LEVEL_V11 if version.updated_redaction_rules else _KEPT_TOP_LEVEL_V1
    redacted = {k: copy.deepcopy(v) for k, v in event.items() if k in kept_top}

    content = event.get("content")
    if not isinstance(content, dict):
        content = {}
    event_type = event.get("type")
    kept_content = _kept_content_keys(event_type if isinstance(event_type, str) else "", version)
    if kept_content is None:
        new_content = copy.deepcopy(content)
    else:
        new_content = {k: copy.deepcopy(content[k]) for k in kept_content if k in content}
    # rooms/v11: m.room.member keeps the `signed` key of `third_party_invite`.
    if version.updated_redaction_rules and event_type == "m.room.member":
        invite = content.get("third_party_invite")
        if isinstance(invite, dict) and "signed" in invite:
            new_content["third_party_invite"] = {"signed": copy.deepcopy(invite["signed"])}
    redacted["content"] = new_content
    return redacted
