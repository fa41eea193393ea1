# SPDX-License-Identifier: Apache-2.0
"""A room hosted by a fake peer: it builds and signs PDUs and keeps its event graph.

A target joins it (make_join/send_join), receives its events in transactions and asks
for its history (state, backfill, missing events), so the events must be the real
thing: hashed, signed, with IDs derived as the room version says, and authorised by
the right `auth_events`. The room does not judge: it applies no auth rules and does no
state resolution (the state after an event is its parents' state, later parents
winning, plus the event itself), because the target is the one under test.

Room versions 3 to 12 (event IDs are hashes); in version 12 the room ID is the create
event's hash and the create event is never an auth event.
"""
from __future__ import annotations

import copy
import secrets
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from tests.harness.crypto import (
    RoomVersion,
    SigningKey,
    compute_event_id,
    redact,
    room_id_from_create_event,
    room_version,
    sign_event,
    sign_json,
)

JsonDict = dict[str, Any]
StateKey = tuple[str, str]  # (event type, state key)


def now_ms() -> int:
    return int(time.time() * 1000)


def server_of(user_id: str) -> str:
    """The server name part of a user ID (everything after the first colon)."""
    return user_id.split(":", 1)[1]


def countersign(event: JsonDict, server_name: str, key: SigningKey,
                version: RoomVersion | str) -> JsonDict:
    """A copy of someone else's event with our signature added (hashes untouched).

    What a resident server does to a join (send_join) and an invitee's server to an
    invite: the signature covers the redacted event, like the sender's.
    """
    signed = copy.deepcopy(event)
    ours = sign_json(redact(event, version), server_name, key)["signatures"][server_name]
    signed.setdefault("signatures", {})[server_name] = ours
    return signed


class FakeRoom:
    """A room created and hosted by a fake peer, with its whole event graph."""

    def __init__(self, server_name: str, key: SigningKey, *, version: str = "12",
                 creator: str, join_rule: str = "public",
                 history_visibility: str = "shared", room_type: str | None = None) -> None:
        self.version = room_version(version)
        if not self.version.event_ids_from_hash:
            raise ValueError(f"FakeRoom builds rooms of version 3 or later, not {version}")
        self.server_name = server_name
        self.key = key
        self.creator = creator
        self.events: dict[str, JsonDict] = {}  # event ID → PDU, in the order added
        self.extremities: list[str] = []  # events nothing points at yet
        self._state_after: dict[str, dict[StateKey, str]] = {}
        self.room_id = "" if self.version.room_id_from_create else \
            f"!{secrets.token_urlsafe(12)}:{server_name}"
        self._create(room_type)
        self.join(creator)
        self.send_state("m.room.power_levels", self._power_levels())
        self.send_state("m.room.join_rules", {"join_rule": join_rule})
        self.send_state("m.room.history_visibility", {"history_visibility": history_visibility})

    def __repr__(self) -> str:
        return f"<FakeRoom {self.room_id} v{self.version.identifier}>"

    @classmethod
    def joined(cls, server_name: str, key: SigningKey, *, room_id: str, version: str,
               event: JsonDict, state: Iterable[JsonDict],
               auth_chain: Iterable[JsonDict]) -> FakeRoom:
        """A room hosted elsewhere that one of the peer's users joined, from send_join.

        The graph holds what the answer gave (the state before the join, its auth chain,
        the join): enough to build the joined user's next events, which follow the join.
        """
        room = cls.__new__(cls)
        room.version = room_version(version)
        room.server_name, room.key, room.room_id = server_name, key, room_id
        room.creator = event["sender"]
        room.events, room.extremities, room._state_after = {}, [], {}
        state = list(state)
        for pdu in sorted([*auth_chain, *state], key=lambda ev: ev.get("depth", 0)):
            room.events.setdefault(room.event_id(pdu), copy.deepcopy(pdu))
        before = {(pdu["type"], pdu["state_key"]): room.event_id(pdu) for pdu in state}
        join_id = room.event_id(event)
        room.events[join_id] = copy.deepcopy(event)
        room._state_after[join_id] = {**before, ("m.room.member", event["state_key"]): join_id}
        room.extremities = [join_id]
        return room

    def _create(self, room_type: str | None) -> None:
        content: JsonDict = {"room_version": self.version.identifier}
        if room_type is not None:  # `m.space` for a space (client-server-api/#types)
            content["type"] = room_type
        if not self.version.v11_redaction:  # v11 dropped `creator` (the sender is the creator)
            content["creator"] = self.creator
        create = self.build_event("m.room.create", content, sender=self.creator,
                                  state_key="", prev_events=[], auth_events=[], depth=1)
        if self.version.room_id_from_create:
            self.room_id = room_id_from_create_event(create, self.version)
        self.add(create)

    def _power_levels(self) -> JsonDict:
        levels: JsonDict = {"users_default": 0, "events_default": 0, "state_default": 50,
                            "ban": 50, "kick": 50, "redact": 50, "invite": 0, "events": {}}
        # v12: creators have unlimited power and must not be listed.
        levels["users"] = {} if self.version.room_id_from_create else {self.creator: 100}
        return levels

    # -- building events ---------------------------------------------------------------

    def build_event(self, event_type: str, content: JsonDict, *, sender: str | None = None,
                    state_key: str | None = None, prev_events: list[str] | None = None,
                    auth_events: list[str] | None = None, depth: int | None = None,
                    **extra: Any) -> JsonDict:
        """A signed PDU that is not added to the room (tests may send it, or break it).

        Left out, `prev_events` are the room's extremities, `auth_events` are chosen from
        the state they lead to, and `depth` is one more than the deepest parent.
        """
        sender = sender or self.creator
        prev = list(self.extremities if prev_events is None else prev_events)
        if auth_events is None:
            auth_events = self.select_auth_events(self.state_map(prev), event_type, sender,
                                                  state_key, content)
        event: JsonDict = {
            "type": event_type, "content": content, "sender": sender,
            "origin_server_ts": now_ms(), "prev_events": prev, "auth_events": auth_events,
            "depth": depth if depth is not None else self._next_depth(prev),
        }
        if not (event_type == "m.room.create" and self.version.room_id_from_create):
            event["room_id"] = self.room_id
        if state_key is not None:
            event["state_key"] = state_key
        event.update(extra)
        return sign_event(event, self.server_name, self.key, self.version)

    def _next_depth(self, prev_events: Iterable[str]) -> int:
        return max((self.events[e]["depth"] for e in prev_events if e in self.events),
                   default=0) + 1

    def select_auth_events(self, state: dict[StateKey, str], event_type: str, sender: str,
                           state_key: str | None, content: JsonDict) -> list[str]:
        """The auth events the spec selects (server-server-api/#auth-events-selection)."""
        if event_type == "m.room.create":
            return []
        wanted: list[StateKey] = []
        if not self.version.room_id_from_create:  # v12: the room ID stands for the create event
            wanted.append(("m.room.create", ""))
        wanted += [("m.room.power_levels", ""), ("m.room.member", sender)]
        if event_type == "m.room.member" and state_key is not None:
            wanted.append(("m.room.member", state_key))
            membership = content.get("membership")
            if membership in ("join", "invite", "knock"):
                wanted.append(("m.room.join_rules", ""))
            via = content.get("join_authorised_via_users_server")
            if membership == "join" and isinstance(via, str):
                wanted.append(("m.room.member", via))
        return list(dict.fromkeys(state[k] for k in wanted if k in state))

    # -- the graph ---------------------------------------------------------------------

    def event_id(self, event: JsonDict) -> str:
        return compute_event_id(event, self.version)

    def add(self, event: JsonDict) -> str:
        """Adds an event (ours or the target's) to the graph; returns its ID."""
        event_id = self.event_id(event)
        if event_id in self.events:
            return event_id
        prev = event.get("prev_events", [])
        state = self.state_map(prev)
        if "state_key" in event:
            state[(event["type"], event["state_key"])] = event_id
        self.events[event_id] = copy.deepcopy(event)
        self._state_after[event_id] = state
        self.extremities = [e for e in self.extremities if e not in prev] + [event_id]
        return event_id

    def send(self, event_type: str, content: JsonDict, *, sender: str | None = None,
             state_key: str | None = None, **extra: Any) -> JsonDict:
        """Builds, signs and adds an event after the current extremities; returns the PDU."""
        event = self.build_event(event_type, content, sender=sender, state_key=state_key,
                                 **extra)
        self.add(event)
        return event

    def send_state(self, event_type: str, content: JsonDict, state_key: str = "", *,
                   sender: str | None = None) -> JsonDict:
        return self.send(event_type, content, sender=sender, state_key=state_key)

    def message(self, body: str, *, sender: str | None = None) -> JsonDict:
        return self.send("m.room.message", {"msgtype": "m.text", "body": body}, sender=sender)

    def join(self, user_id: str) -> JsonDict:
        """A join of one of the peer's own users (the peer signs it)."""
        return self.send_state("m.room.member", {"membership": "join"}, user_id, sender=user_id)

    def invite(self, user_id: str, *, sender: str | None = None) -> JsonDict:
        """An invite event for `user_id`; for a remote user, have their server countersign
        it (`FederationClient.invite`) before adding it with `add`."""
        return self.build_event("m.room.member", {"membership": "invite"}, state_key=user_id,
                                sender=sender or self.creator)

    # -- reading ---------------------------------------------------------------------------

    def pdu(self, event_id: str) -> JsonDict:
        return self.events[event_id]

    @property
    def create_event_id(self) -> str:
        return next(iter(self.events))

    def state_map(self, prev_events: Iterable[str] | None = None) -> dict[StateKey, str]:
        """The state after `prev_events` (the current state when None)."""
        state: dict[StateKey, str] = {}
        for event_id in self.extremities if prev_events is None else prev_events:
            state.update(self._state_after.get(event_id, {}))
        return state

    def state_before(self, event_id: str) -> dict[StateKey, str]:
        """The state just before an event: after its parents (what `/state` answers)."""
        return self.state_map(self.events[event_id].get("prev_events", []))

    def membership(self, user_id: str) -> str | None:
        event_id = self.state_map().get(("m.room.member", user_id))
        return self.events[event_id]["content"].get("membership") if event_id else None

    def join_rule(self) -> str | None:
        return self.state_content("m.room.join_rules").get("join_rule")

    def state_content(self, event_type: str, state_key: str = "") -> JsonDict:
        """The content of a current state event ({} when the room has none)."""
        event_id = self.state_map().get((event_type, state_key))
        return dict(self.events[event_id]["content"]) if event_id else {}

    def auth_chain(self, event_ids: Iterable[str]) -> list[JsonDict]:
        """Every event reachable through `auth_events` from `event_ids`, oldest first."""
        seen: set[str] = set()
        queue = deque(a for e in event_ids for a in self.events[e].get("auth_events", []))
        while queue:
            event_id = queue.popleft()
            if event_id in seen or event_id not in self.events:
                continue
            seen.add(event_id)
            queue.extend(self.events[event_id].get("auth_events", []))
        return self._by_depth(seen)

    def _by_depth(self, event_ids: Iterable[str]) -> list[JsonDict]:
        return sorted((self.events[e] for e in event_ids), key=lambda ev: ev["depth"])

    def backfill(self, event_ids: Iterable[str], limit: int) -> list[JsonDict]:
        """The given events and those before them, breadth-first back, at most `limit`."""
        found: list[str] = []
        queue = deque(e for e in event_ids if e in self.events)
        while queue and len(found) < limit:
            event_id = queue.popleft()
            if event_id not in found:
                found.append(event_id)
                queue.extend(p for p in self.events[event_id]["prev_events"] if p in self.events)
        return [self.events[e] for e in found]

    def missing_events(self, earliest: Iterable[str], latest: Iterable[str], *,
                       limit: int = 10, min_depth: int = 0) -> list[JsonDict]:
        """The ancestors of `latest` the caller lacks, stopping at `earliest`, oldest first."""
        skip = set(earliest) | set(latest)
        found: list[str] = []
        queue = deque(p for e in latest if e in self.events for p in self.events[e]["prev_events"])
        while queue and len(found) < limit:
            event_id = queue.popleft()
            if event_id in skip or event_id in found or event_id not in self.events:
                continue
            if self.events[event_id]["depth"] < min_depth:
                continue
            found.append(event_id)
            queue.extend(self.events[event_id]["prev_events"])
        return self._by_depth(found)

    # -- joins -----------------------------------------------------------------------------

    def make_join_template(self, user_id: str, membership: str = "join") -> JsonDict:
        """The unsigned join event `make_join` answers with (`make_leave`: membership leave)."""
        prev = list(self.extremities)
        content = {"membership": membership}
        return {
            "room_id": self.room_id, "type": "m.room.member", "sender": user_id,
            "state_key": user_id, "content": content, "origin": self.server_name,
            "origin_server_ts": now_ms(), "depth": self._next_depth(prev), "prev_events": prev,
            "auth_events": self.select_auth_events(self.state_map(prev), "m.room.member",
                                                   user_id, user_id, content),
        }

    def join_problems(self, event: JsonDict, event_id: str, origin: str,
                      membership: str = "join") -> list[str]:
        """Why a join (or, with `membership`, leave) event sent to `send_join` (`send_leave`)
        is not acceptable (empty when it is)."""
        problems = []
        if self.event_id(event) != event_id:
            problems.append(f"its event ID is {self.event_id(event)}, not {event_id}")
        if event.get("type") != "m.room.member" or \
                (event.get("content") or {}).get("membership") != membership:
            problems.append(f"it is not an m.room.member event with membership {membership}")
        sender = event.get("sender", "")
        if event.get("state_key") != sender or ":" not in sender or server_of(sender) != origin:
            problems.append(f"its sender {sender!r} is not its state_key or not a user of {origin}")
        if event.get("room_id") != self.room_id:
            problems.append(f"its room_id is {event.get('room_id')!r}, not {self.room_id}")
        return problems

    def stripped_state(self) -> list[JsonDict]:
        """The room's state a knocking or invited user may preview: the create event in
        full (v1.16), the other kinds stripped (client-server-api/#stripped-state)."""
        state = self.state_map()
        previews = []
        for event_type in ("m.room.create", "m.room.join_rules", "m.room.name",
                           "m.room.canonical_alias", "m.room.avatar", "m.room.encryption"):
            event_id = state.get((event_type, ""))
            if event_id is None:
                continue
            event = self.events[event_id]
            previews.append(dict(event) if event_type == "m.room.create" else {
                key: event[key] for key in ("type", "state_key", "sender", "content")})
        return previews

    def accept_join(self, event: JsonDict) -> JsonDict:
        """Countersigns and adds a join; returns the `send_join` answer (v2)."""
        signed = countersign(event, self.server_name, self.key, self.version)
        state_ids = list(self.state_map(event.get("prev_events", [])).values())
        self.add(signed)
        chain = {self.event_id(e) for e in self.auth_chain(state_ids + [self.event_id(signed)])}
        return {"state": self._by_depth(state_ids), "auth_chain": self._by_depth(chain),
                "event": signed, "members_omitted": False, "servers_in_room": [self.server_name]}
