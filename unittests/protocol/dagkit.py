# SPDX-License-Identifier: Apache-2.0
"""A tiny room DAG builder for state resolution tests.

Events carry real auth_events (from auth events selection over the branch's state),
prev_events, depth and hash-based (or, in v1/v2, minted) event IDs, so the resolver sees
what a server would see.
"""
from __future__ import annotations

import itertools
from typing import Any

from reference_server.protocol.auth_rules import auth_types_for_event, check_auth
from reference_server.protocol.errors import AuthError
from reference_server.protocol.event_ids import compute_event_id, room_id_for_create_event
from reference_server.protocol.events import auth_event_ids, prev_event_ids
from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS
from reference_server.protocol.types import JsonDict, StateKey

CREATOR = "@creator:a.test"
ALICE = "@alice:a.test"
BOB = "@bob:b.test"
CAROL = "@carol:c.test"


class Branch:
    """A line of events: its latest event and the state after it."""

    def __init__(self, head: str, state: dict[StateKey, str]) -> None:
        self.head = head
        self.state = state

    def fork(self) -> Branch:
        return Branch(self.head, dict(self.state))


class Dag:
    def __init__(self, identifier: str) -> None:
        self.version = KNOWN_ROOM_VERSIONS[identifier]
        self.events: dict[str, JsonDict] = {}
        self._counter = itertools.count(1)
        self.room_id = "!room:a.test"
        create_content = {"room_version": identifier}
        if not self.version.implicit_room_creator:
            create_content["creator"] = CREATOR
        create = self._raw("m.room.create", CREATOR, create_content, "", [], [], 1, 0)
        if self.version.room_id_from_create_event:
            del create["room_id"]
            self.room_id = room_id_for_create_event(create, self.version)
        self.create_id = self._store(create)
        self.root = Branch(self.create_id, {("m.room.create", ""): self.create_id})

    def _raw(self, event_type: str, sender: str, content: dict, state_key: str | None,
             prev: list[str], auth: list[str], depth: int, ts: int) -> JsonDict:
        event: JsonDict = {
            "type": event_type, "sender": sender, "content": content, "room_id": self.room_id,
            "prev_events": prev, "auth_events": auth, "depth": depth, "origin_server_ts": ts,
            "hashes": {"sha256": "x"}, "signatures": {},
        }
        if state_key is not None:
            event["state_key"] = state_key
        if self.version.event_id_in_pdu:
            event["event_id"] = f"${next(self._counter)}:{sender.split(':', 1)[1]}"
            event["prev_events"] = [[p, {}] for p in prev]
            event["auth_events"] = [[a, {}] for a in auth]
        return event

    def _store(self, event: JsonDict) -> str:
        event_id = compute_event_id(event, self.version)
        self.events[event_id] = event
        return event_id

    def send(self, branch: Branch, event_type: str, sender: str, content: dict[str, Any],
             *, state_key: str | None = None, ts: int | None = None, must_pass: bool = True) -> str | None:
        """Append an event to `branch` if the auth rules allow it; returns its ID."""
        keys = auth_types_for_event(event_type, sender, state_key, content, self.version)
        auth = [branch.state[k] for k in keys if k in branch.state]
        depth = self.events[branch.head]["depth"] + 1
        ts = ts if ts is not None else 1000 + next(self._counter)
        event = self._raw(event_type, sender, content, state_key, [branch.head], auth, depth, ts)
        state = {k: self.events[v] for k, v in branch.state.items()}
        create = self.events[self.create_id] if self.version.room_id_from_create_event else None
        try:
            check_auth(event, state, self.version, create_event=create)
        except AuthError:
            if must_pass:
                raise
            return None
        event_id = self._store(event)
        branch.head = event_id
        if state_key is not None:
            branch.state[(event_type, state_key)] = event_id
        return event_id

    def member(self, branch: Branch, user: str, membership: str, *, sender: str | None = None, **kw: Any) -> str | None:
        return self.send(branch, "m.room.member", sender or user, {"membership": membership}, state_key=user, **kw)

    def auth_chain_ids(self, event_id: str) -> set[str]:
        seen: set[str] = set()
        todo = list(auth_event_ids(self.events[event_id]))
        while todo:
            current = todo.pop()
            if current in seen or current not in self.events:
                continue
            seen.add(current)
            todo.extend(auth_event_ids(self.events[current]))
        return seen

    def prevs(self, event_id: str) -> list[str]:
        return prev_event_ids(self.events[event_id])


def standard_room(identifier: str) -> tuple[Dag, Branch]:
    """create, creator join, power levels (alice 50), public join rules, alice and bob
    joined, and a topic."""
    dag = Dag(identifier)
    main = dag.root.fork()
    dag.member(main, CREATOR, "join")
    users = {ALICE: 50} if dag.version.creators_have_infinite_power else {CREATOR: 100, ALICE: 50}
    dag.send(main, "m.room.power_levels", CREATOR,
             {"users": users, "events": {"org.example.status": 0}}, state_key="")
    dag.send(main, "m.room.join_rules", CREATOR, {"join_rule": "public"}, state_key="")
    dag.member(main, ALICE, "join")
    dag.member(main, BOB, "join")
    dag.send(main, "m.room.topic", CREATOR, {"topic": "T0"}, state_key="")
    return dag, main
