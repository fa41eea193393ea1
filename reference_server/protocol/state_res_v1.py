# SPDX-License-Identifier: Apache-2.0
"""State resolution for room version 1 (rooms/v1 "State resolution").

Known to reset state in some cases (the spec warns so); kept only because version 1
rooms still exist. Two points the text leaves open follow what servers have done:
- A key missing from some state sets is not a conflict ("a conflict occurs between
  states where those states have different event_ids for the same key").
- If no conflicting event of an ordinary type passes the auth checks, the one sorted
  last (lowest depth) is kept rather than leaving the key empty.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from .auth_rules import auth_types_for_event, check_auth
from .errors import AuthError
from .events import content_of
from .room_versions import RoomVersion
from .types import JsonDict, StateKey

_AUTH_TYPES_IN_ORDER = ("m.room.power_levels", "m.room.join_rules", "m.room.member")


def resolve_state_v1(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    event_map: Mapping[str, JsonDict],
) -> dict[StateKey, str]:
    """Resolve `state_sets` with the room version 1 algorithm."""
    unconflicted: dict[StateKey, str] = {}
    conflicted: dict[StateKey, list[JsonDict]] = {}
    for key in set().union(*(s.keys() for s in state_sets)) if state_sets else set():
        ids = sorted({s[key] for s in state_sets if key in s})
        events = [_with_id(event_map[i], i) for i in ids if i in event_map]
        if len(ids) == 1 or len(events) == 1:
            unconflicted[key] = ids[0] if len(ids) == 1 else events[0]["event_id"]
        elif events:
            conflicted[key] = events
    # Start with R = the union of the states minus the conflicting events.
    resolved: dict[StateKey, JsonDict] = {
        k: _with_id(event_map[v], v) for k, v in unconflicted.items() if v in event_map
    }
    # Power levels, then join rules, then memberships: each conflict in a category is
    # resolved against R as it stood before that category, then R is updated.
    for event_type in _AUTH_TYPES_IN_ORDER:
        snapshot = dict(resolved)
        for key, events in conflicted.items():
            if key[0] == event_type:
                resolved[key] = _resolve_auth_conflict(events, snapshot, version)
    # Everything else: the deepest (then lowest sha1) event that passes auth in R.
    snapshot = dict(resolved)
    for key, events in conflicted.items():
        if key[0] not in _AUTH_TYPES_IN_ORDER:
            resolved[key] = _resolve_ordinary_conflict(events, snapshot, version)
    result = dict(unconflicted)
    result.update({key: event["event_id"] for key, event in resolved.items()})
    return result


def _with_id(event: JsonDict, event_id: str) -> JsonDict:
    return event if event.get("event_id") == event_id else {**event, "event_id": event_id}


def _order_key(event: JsonDict) -> tuple[int, str]:
    """Ascending depth, then descending sha1(event_id) (sorted by negating later)."""
    depth = event.get("depth")
    return (depth if isinstance(depth, int) else 0, _sha1(event["event_id"]))


def _sha1(event_id: str) -> str:
    return hashlib.sha1(event_id.encode("utf-8")).hexdigest()


def _allowed(event: JsonDict, state: Mapping[StateKey, JsonDict], version: RoomVersion) -> bool:
    needed = auth_types_for_event(
        event.get("type", ""), event.get("sender", ""), event.get("state_key"),
        content_of(event), version,
    )
    auth = {key: state[key] for key in needed if key in state}
    try:
        check_auth(event, auth, version)
    except AuthError:
        return False
    return True


def _resolve_auth_conflict(
    events: Iterable[JsonDict], state: Mapping[StateKey, JsonDict], version: RoomVersion
) -> JsonDict:
    """Sort by ascending depth then descending sha1; take the first, then each next one
    for as long as it is allowed against R updated with the one before."""
    ordered = sorted(events, key=lambda e: (_order_key(e)[0], _negate_hex(_order_key(e)[1])))
    current = ordered[0]
    working = dict(state)
    for event in ordered[1:]:
        working[(current["type"], current["state_key"])] = current
        if not _allowed(event, working, version):
            break
        current = event
    return current


def _resolve_ordinary_conflict(
    events: Iterable[JsonDict], state: Mapping[StateKey, JsonDict], version: RoomVersion
) -> JsonDict:
    """Highest depth, then lowest sha1, among the events allowed in R."""
    ordered = sorted(events, key=lambda e: (-_order_key(e)[0], _order_key(e)[1]))
    for event in ordered:
        if _allowed(event, state, version):
            return event
    return ordered[-1]


def _negate_hex(digest: str) -> str:
    """A string that sorts in the reverse order of the hex digest."""
    return "".join("0123456789abcdef"[15 - int(c, 16)] for c in digest)
