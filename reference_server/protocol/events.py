# SPDX-License-Identifier: Apache-2.0
"""Building PDUs and reading their edges in every room version's event format.

Formats (server-server `pdu_v1` … `pdu_v12` definitions):
- v1, v2: the PDU carries `event_id`; `prev_events`/`auth_events` are [id, {hashes}] pairs.
- v3+: no `event_id` (it is the reference hash); edges are plain lists of event IDs.
- v11+: `m.room.redaction` carries `redacts` in `content`, not at the top level.
- v12: the create event has no `room_id`, and no event lists the create event in
  `auth_events` (the room ID already names it).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .event_ids import compute_event_id, create_event_id_for_room
from .hashes import add_content_hash
from .redaction import redact
from .room_versions import RoomVersion
from .signing import SigningKey, sign_json
from .types import JsonDict


def build_pdu(
    *,
    version: RoomVersion,
    room_id: str | None,
    sender: str,
    event_type: str,
    content: JsonDict,
    prev_events: Sequence[str],
    auth_events: Sequence[str],
    depth: int,
    origin_server_ts: int,
    origin: str,
    key: SigningKey,
    state_key: str | None = None,
    redacts: str | None = None,
    edge_hashes: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[str, JsonDict]:
    """Make, hash and sign a new event; returns (event_id, PDU).

    `edge_hashes` gives, for v1/v2 rooms, the `hashes` object of each referenced event to
    pair with its ID (missing ones get `{}`); later versions ignore it. `room_id` is
    ignored (and may be None) for a v12 create event, whose ID defines the room.
    `depth` is capped at the version's maximum, as the PDU format asks.
    """
    is_v12_create = (
        version.room_id_from_create_event and event_type == "m.room.create" and state_key == ""
    )
    pdu: JsonDict = {
        "type": event_type,
        "sender": sender,
        "content": dict(content),
        "depth": min(depth, version.max_depth),
        "origin_server_ts": origin_server_ts,
        "origin": origin,
    }
    if not is_v12_create:
        if room_id is None:
            raise ValueError("room_id is required except for a room version 12 create event")
        pdu["room_id"] = room_id
    if state_key is not None:
        pdu["state_key"] = state_key
    if redacts is not None:
        if version.redacts_in_content:
            pdu["content"]["redacts"] = redacts
        else:
            pdu["redacts"] = redacts

    auth_ids = list(auth_events)
    if version.auth_events_exclude_create and room_id is not None:
        create_id = create_event_id_for_room(room_id, version)
        auth_ids = [e for e in auth_ids if e != create_id]
    pdu["prev_events"] = _format_edges(list(prev_events), version, edge_hashes)
    pdu["auth_events"] = _format_edges(auth_ids, version, edge_hashes)
    if version.event_id_in_pdu:
        pdu["event_id"] = compute_event_id(pdu, version, server_name=origin)

    return finish_pdu(pdu, version, server_name=origin, key=key)


def hash_and_sign_event(
    event: JsonDict, version: RoomVersion, *, server_name: str, key: SigningKey
) -> JsonDict:
    """A copy of `event` with its content hash set and this server's signature added.

    server-server-api/#adding-hashes-and-signatures-to-outgoing-events: hash the full
    event, redact it, sign the redacted form, copy the signature back. Signatures already
    present (another server's, on a make_join template say) and `unsigned` are kept.
    """
    hashed = add_content_hash(event)
    signed_redacted = sign_json(redact(hashed, version), server_name=server_name, key=key)
    signatures = {name: dict(sigs) for name, sigs in (event.get("signatures") or {}).items()}
    signatures.setdefault(server_name, {}).update(signed_redacted["signatures"][server_name])
    hashed["signatures"] = signatures
    return hashed


def finish_pdu(
    pdu: JsonDict, version: RoomVersion, *, server_name: str, key: SigningKey
) -> tuple[str, JsonDict]:
    """Hash and sign a complete unsigned PDU; returns (event_id, signed PDU)."""
    signed = hash_and_sign_event(pdu, version, server_name=server_name, key=key)
    return compute_event_id(signed, version, server_name=server_name), signed


def _format_edges(
    ids: list[str], version: RoomVersion, edge_hashes: Mapping[str, Mapping[str, str]] | None
) -> list[Any]:
    if not version.event_id_in_pdu:
        return ids
    hashes = edge_hashes or {}
    return [[event_id, dict(hashes.get(event_id, {}))] for event_id in ids]


def _edge_ids(edges: Any) -> list[str]:
    """Event IDs from either edge format; malformed entries are skipped."""
    if not isinstance(edges, list):
        return []
    ids = []
    for entry in edges:
        if isinstance(entry, str):
            ids.append(entry)
        elif isinstance(entry, (list, tuple)) and entry and isinstance(entry[0], str):
            ids.append(entry[0])
    return ids


def prev_event_ids(pdu: JsonDict) -> list[str]:
    """The IDs in `prev_events`, whatever the format."""
    return _edge_ids(pdu.get("prev_events"))


def auth_event_ids(pdu: JsonDict) -> list[str]:
    """The IDs listed in `auth_events`, whatever the format (v12: never the create event)."""
    return _edge_ids(pdu.get("auth_events"))


def event_edges(pdu: JsonDict, version: RoomVersion) -> tuple[list[str], list[str]]:
    """(prev event IDs, auth event IDs) of `pdu` as written in it.

    In v12 rooms the create event is implied by the room ID rather than listed; use
    `create_event_id_for_room` when walking the auth graph needs it.
    """
    del version  # both formats are recognisable from the data itself
    return prev_event_ids(pdu), auth_event_ids(pdu)


def redacts_of(pdu: JsonDict, version: RoomVersion) -> str | None:
    """The event ID an `m.room.redaction` targets: `content.redacts` from v11, else top-level."""
    if pdu.get("type") != "m.room.redaction":
        return None
    source = pdu.get("content") if version.redacts_in_content else pdu
    target = source.get("redacts") if isinstance(source, dict) else None
    return target if isinstance(target, str) else None


def content_of(event: JsonDict | None) -> JsonDict:
    """The event's `content`, or {} when the event is absent or its content is malformed.

    The rules must read untrusted events without crashing: a malformed content reads as
    empty, as a redacted one would.
    """
    content = (event or {}).get("content")
    return content if isinstance(content, dict) else {}


def required_signers(pdu: JsonDict, version: RoomVersion) -> set[str]:
    """Server names whose signatures a received PDU must carry.

    server-server-api/#validating-hashes-and-signatures-on-received-events: the sender's
    server (except for an invite made from a third-party invite, which another server may
    send on the sender's behalf); in v1/v2 also the server in the event ID; and (v8+, auth
    rule 5.2) the server of `join_authorised_via_users_server` on a join.
    """
    servers: set[str] = set()
    content = content_of(pdu)
    membership = content.get("membership") if pdu.get("type") == "m.room.member" else None
    if not (membership == "invite" and "third_party_invite" in content):
        servers.add(server_of(pdu.get("sender")))
    if version.event_id_in_pdu:
        servers.add(server_of(pdu.get("event_id")))
    authoriser = content.get("join_authorised_via_users_server")
    if version.restricted_join_rule and membership == "join" and isinstance(authoriser, str):
        servers.add(server_of(authoriser))
    servers.discard("")
    return servers


def server_of(identifier: Any) -> str:
    """The server name in a user, room (before v12), event (v1/v2) ID or alias; "" if none."""
    if not isinstance(identifier, str) or ":" not in identifier:
        return ""
    return identifier.split(":", 1)[1]


def is_state_event(pdu: JsonDict) -> bool:
    """State events are those with a `state_key` (even an empty one)."""
    return isinstance(pdu.get("state_key"), str)
