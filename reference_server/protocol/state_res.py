# SPDX-License-Identifier: Apache-2.0
"""State resolution: v2 (rooms/v2 onwards) and v2.1 (rooms/v12, MSC4297); v1 lives in
`state_res_v1` and is chosen by the room version's `state_res` flag.

Everything is pure: `event_map` must hold every event the algorithm touches (the
conflicted events, their auth chains, and in v12 the create event), and
`auth_chain_ids(event_id)` returns the auth chain of one event (its auth events,
recursively, excluding itself). The result never depends on the order of `state_sets`
or of `event_map`, which the unit tests check with hypothesis.

One reading of the text deserves a note. The *auth difference* takes the "full auth chain
for each state S_i". We count the state events of S_i as part of that chain (as Synapse
does): otherwise an event present in every state set, but cited by some other event of
only one set, would be called "not in every auth chain" and replayed although it is not
in dispute.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from .auth_rules import auth_types_for_event, check_auth
from .errors import AuthError
from .event_ids import create_event_id_for_room
from .events import auth_event_ids, content_of
from .power_levels import power_level_of
from .room_versions import RoomVersion, StateResAlgorithm
from .state_res_v1 import resolve_state_v1
from .types import JsonDict, StateKey

PL_KEY: StateKey = ("m.room.power_levels", "")
CREATE_KEY: StateKey = ("m.room.create", "")


def resolve_state(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    event_map: Mapping[str, JsonDict],
    auth_chain_ids: Callable[[str], set[str]],
    *,
    rejected: Collection[str] = frozenset(),
) -> dict[StateKey, str]:
    """Resolve `state_sets` into one state map using the room version's algorithm.

    `rejected` names events rejected on their auth chain; they are never used as
    auth events during the iterative auth checks.
    """
    if version.state_res is StateResAlgorithm.V1:
        return resolve_state_v1(version, state_sets, event_map)
    return _Resolver(version, event_map, auth_chain_ids, rejected).resolve(state_sets)


def separate(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[dict[StateKey, str], dict[StateKey, set[str]]]:
    """(unconflicted state map, conflicted state set by key).

    A key is unconflicted only if it is present in every state set with the same event.
    """
    unconflicted: dict[StateKey, str] = {}
    conflicted: dict[StateKey, set[str]] = {}
    keys = set().union(*(s.keys() for s in state_sets)) if state_sets else set()
    for key in keys:
        values = {s.get(key) for s in state_sets}
        if len(values) == 1 and None not in values:
            unconflicted[key] = values.pop()  # type: ignore[assignment]
        else:
            conflicted[key] = {v for v in values if v is not None}
    return unconflicted, conflicted


def conflicted_subgraph(
    conflicted_ids: set[str], auth_chain_ids: Callable[[str], set[str]]
) -> set[str]:
    """rooms/v12 *conflicted state subgraph*: every event on an auth_events path from one
    conflicted event to another, endpoints included.

    An event is on such a path when it is reachable from a conflicted event and itself
    reaches a conflicted event (or is one).
    """
    reachable: set[str] = set()
    for event_id in conflicted_ids:
        reachable |= auth_chain_ids(event_id)
    on_path = {e for e in reachable if e in conflicted_ids or auth_chain_ids(e) & conflicted_ids}
    return on_path | conflicted_ids


def is_power_event(event: JsonDict) -> bool:
    """Power levels, join rules, and memberships of leave/ban sent by someone else."""
    event_type, state_key = event.get("type"), event.get("state_key")
    if state_key is None:
        return False
    if event_type in ("m.room.power_levels", "m.room.join_rules") and state_key == "":
        return True
    if event_type == "m.room.member":
        membership = content_of(event).get("membership")
        return membership in ("leave", "ban") and event.get("sender") != state_key
    return False


class _Resolver:
    """One run of state resolution v2/v2.1 over a fixed set of events."""

    def __init__(
        self,
        version: RoomVersion,
        event_map: Mapping[str, JsonDict],
        auth_chain_ids: Callable[[str], set[str]],
        rejected: Collection[str],
    ) -> None:
        self.version = version
        self.events = event_map
        self.auth_chain_ids = auth_chain_ids
        self.rejected = rejected
        self.v2_1 = version.state_res is StateResAlgorithm.V2_1

    def resolve(self, state_sets: Sequence[Mapping[StateKey, str]]) -> dict[StateKey, str]:
        unconflicted, conflicted = separate(state_sets)
        if not conflicted:
            return unconflicted
        conflicted_ids = set().union(*conflicted.values())
        full = conflicted_ids | self._auth_difference(state_sets)
        if self.v2_1:
            full |= conflicted_subgraph(conflicted_ids, self.auth_chain_ids)
        full = {e for e in full if e in self.events}
        # 1. Power events of the full conflicted set, with their auth chains within it.
        power = {e for e in full if is_power_event(self.events[e])}
        for event_id in list(power):
            power |= self.auth_chain_ids(event_id) & full
        sorted_power = self._reverse_topological_power_order(power, full)
        # 2. Iterative auth checks from the unconflicted state (v2) or nothing (v2.1).
        partial = self._iterative_auth_checks({} if self.v2_1 else unconflicted, sorted_power)
        # 3. The rest, by mainline ordering on the partially resolved power levels.
        rest = self._mainline_order(full - power, partial.get(PL_KEY))
        # 4. Iterative auth checks again, on top of the partial state.
        resolved = self._iterative_auth_checks(partial, rest)
        # 5. The unconflicted state map has the last word.
        resolved.update(unconflicted)
        return resolved

    def _auth_difference(self, state_sets: Sequence[Mapping[StateKey, str]]) -> set[str]:
        chains = []
        for state in state_sets:
            chain: set[str] = set(state.values())
            for event_id in state.values():
                chain |= self.auth_chain_ids(event_id)
            chains.append(chain)
        return set().union(*chains) - set.intersection(*chains) if chains else set()

    # --- orderings -----------------------------------------------------------------

    def _auth_ids(self, event: JsonDict) -> list[str]:
        """Auth events, plus the create event v12 leaves implicit."""
        ids = auth_event_ids(event)
        create_id = self._create_id(event)
        if create_id is not None and create_id not in ids:
            ids.append(create_id)
        return ids

    def _create_id(self, event: JsonDict) -> str | None:
        room_id = event.get("room_id")
        if not isinstance(room_id, str) or event.get("type") == "m.room.create":
            return None
        return create_event_id_for_room(room_id, self.version)

    def _sender_power(self, event: JsonDict) -> int | float:
        """The sender's level according to the event's own auth events."""
        auth = self._auth_state(event, {})
        create = auth.get(CREATE_KEY)
        return power_level_of(
            event.get("sender", ""),
            content_of(auth[PL_KEY]) if PL_KEY in auth else None,
            create,
            self.version,
        )

    def _reverse_topological_power_order(self, ids: set[str], full: set[str]) -> list[str]:
        """Kahn's algorithm over auth edges within `ids`, earliest first; ties broken by
        higher sender power, then earlier origin_server_ts, then smaller event ID."""
        edges = {e: {a for a in self._auth_ids(self.events[e]) if a in ids and a in full} for e in ids}
        waiting = {e: len(parents) for e, parents in edges.items()}
        children: dict[str, list[str]] = {e: [] for e in ids}
        for event_id, parents in edges.items():
            for parent in parents:
                children[parent].append(event_id)

        def key(event_id: str) -> tuple[float, int, str]:
            event = self.events[event_id]
            return (-self._sender_power(event), _ts(event), event_id)

        ready = [(key(e), e) for e, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        ordered = []
        while ready:
            _, event_id = heapq.heappop(ready)
            ordered.append(event_id)
            for child in children[event_id]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (key(child), child))
        return ordered

    def _power_levels_parent(self, event: JsonDict) -> str | None:
        for auth_id in auth_event_ids(event):
            auth = self.events.get(auth_id)
            if auth is not None and (auth.get("type"), auth.get("state_key")) == PL_KEY:
                return auth_id
        return None

    def _mainline_order(self, ids: Iterable[str], power_levels_id: str | None) -> list[str]:
        """Earlier mainline position first, then origin_server_ts, then event ID."""
        mainline: dict[str, int] = {}
        current = power_levels_id
        while current is not None and current in self.events and current not in mainline:
            mainline[current] = len(mainline)
            current = self._power_levels_parent(self.events[current])

        def position(event_id: str) -> float:
            seen = set()
            current = self._power_levels_parent(self.events[event_id])
            while current is not None and current not in seen:
                if current in mainline:
                    return mainline[current]
                seen.add(current)
                parent = self.events.get(current)
                current = self._power_levels_parent(parent) if parent else None
            return math.inf

        return sorted(ids, key=lambda e: (-position(e), _ts(self.events[e]), e))

    # --- iterative auth checks -----------------------------------------------------

    def _auth_state(self, event: JsonDict, state: Mapping[StateKey, str]) -> dict[StateKey, JsonDict]:
        """The state to check `event` against: `state` where it has the needed keys,
        otherwise the event's own (non-rejected) auth events."""
        auth: dict[StateKey, JsonDict] = {}
        for auth_id in self._auth_ids(event):
            auth_event = self.events.get(auth_id)
            if auth_event is not None and auth_id not in self.rejected:
                auth[(auth_event.get("type"), auth_event.get("state_key"))] = auth_event  # type: ignore[index]
        needed = auth_types_for_event(
            event.get("type", ""), event.get("sender", ""), event.get("state_key"),
            content_of(event), self.version,
        )
        for key in [*needed, CREATE_KEY]:
            event_id = state.get(key)
            if event_id is not None and event_id in self.events and event_id not in self.rejected:
                auth[key] = self.events[event_id]
        return auth

    def _iterative_auth_checks(
        self, base: Mapping[StateKey, str], ordered: Sequence[str]
    ) -> dict[StateKey, str]:
        state = dict(base)
        for event_id in ordered:
            event = self.events[event_id]
            auth = self._auth_state(event, state)
            try:
                check_auth(event, auth, self.version, create_event=auth.get(CREATE_KEY))
            except AuthError:
                continue
            state[(event.get("type"), event.get("state_key"))] = event_id  # type: ignore[index]
        return state


def _ts(event: JsonDict) -> int:
    ts = event.get("origin_server_ts")
    return ts if isinstance(ts, int) and not isinstance(ts, bool) else 0
