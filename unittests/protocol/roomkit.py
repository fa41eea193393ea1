# SPDX-License-Identifier: Apache-2.0
"""Hand-built rooms for the authorisation rule and state resolution tests.

A `Room` holds a create event and a state map; `event()` makes an unsigned event in it and
`check()` runs the auth rules against the current state. Events get real event IDs so the
same rooms can feed state resolution.
"""
from __future__ import annotations

import itertools
from typing import Any

from reference_server.protocol.auth_rules import check_auth
from reference_server.protocol.event_ids import compute_event_id, room_id_for_create_event
from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from reference_server.protocol.types import JsonDict, StateKey

CREATOR = "@creator:a.test"
ALICE = "@alice:a.test"
BOB = "@bob:b.test"
CAROL = "@carol:c.test"
ALL_VERSIONS = [str(n) for n in range(1, 13)]

_ts = itertools.count(1000)


def versions(*, where: str | None = None, unless: str | None = None) -> list[str]:
    """Room version identifiers, optionally only those with (or without) a flag."""
    chosen = []
    for identifier in ALL_VERSIONS:
        version = KNOWN_ROOM_VERSIONS[identifier]
        if where and not getattr(version, where):
            continue
        if unless and getattr(version, unless):
            continue
        chosen.append(identifier)
    return chosen


class Room:
    """A room's create event and current state, for building and checking events."""

    def __init__(
        self,
        identifier: str = "12",
        *,
        join_rule: str | None = "invite",
        users: dict[str, Any] | None = None,
        power_levels: dict[str, Any] | None = None,
        create_content: dict[str, Any] | None = None,
        with_power_levels: bool = True,
    ) -> None:
        self.version: RoomVersion = KNOWN_ROOM_VERSIONS[identifier]
        self.events: dict[str, JsonDict] = {}
        self.state: dict[StateKey, JsonDict] = {}
        content = {"room_version": identifier, **(create_content or {})}
        if not self.version.implicit_room_creator:
            content.setdefault("creator", CREATOR)
        create: JsonDict = {
            "type": "m.room.create", "state_key": "", "sender": CREATOR, "content": content,
            "prev_events": [], "auth_events": [], "depth": 1, "origin_server_ts": next(_ts),
            "hashes": {"sha256": "x"}, "signatures": {},
        }
        if self.version.room_id_from_create_event:
            self.room_id = room_id_for_create_event(create, self.version)
        else:
            self.room_id = "!room:a.test"
            create["room_id"] = self.room_id
            if self.version.event_id_in_pdu:
                create["event_id"] = "$create:a.test"
        self.create = create
        self.create_id = self.add(create)
        self.add(self.event("m.room.member", CREATOR, {"membership": "join"}, state_key=CREATOR))
        if with_power_levels:
            pl_users = {} if self.version.creators_have_infinite_power else {CREATOR: 100}
            pl_users.update(users or {})
            pl = {"users": pl_users, **(power_levels or {})}
            self.add(self.event("m.room.power_levels", CREATOR, pl, state_key=""))
        if join_rule is not None:
            self.add(self.event("m.room.join_rules", CREATOR, {"join_rule": join_rule}, state_key=""))

    def event(
        self,
        event_type: str,
        sender: str,
        content: dict[str, Any],
        *,
        state_key: str | None = None,
        prev_events: list[str] | None = None,
        **extra: Any,
    ) -> JsonDict:
        """A new event in this room (not added to the state)."""
        event: JsonDict = {
            "type": event_type, "sender": sender, "content": content, "room_id": self.room_id,
            "prev_events": prev_events if prev_events is not None else ["$latest"],
            "auth_events": [], "depth": 2, "origin_server_ts": next(_ts),
            "hashes": {"sha256": "x"}, "signatures": {}, **extra,
        }
        if state_key is not None:
            event["state_key"] = state_key
        if self.version.event_id_in_pdu and "event_id" not in event:
            event["event_id"] = f"$e{next(_ts)}:{sender.split(':', 1)[1]}"
        return event

    def member(
        self,
        user: str,
        membership: str,
        *,
        sender: str | None = None,
        prev_events: list[str] | None = None,
        **content: Any,
    ) -> JsonDict:
        """An m.room.member event for `user`; extra keywords go into its content."""
        return self.event(
            "m.room.member", sender or user, {"membership": membership, **content},
            state_key=user, prev_events=prev_events,
        )

    def add(self, event: JsonDict) -> str:
        """Record `event` and, if it is a state event, make it current state."""
        event_id = compute_event_id(event, self.version)
        self.events[event_id] = event
        if "state_key" in event:
            self.state[(event["type"], event["state_key"])] = event
        return event_id

    def join(self, *users: str) -> None:
        for user in users:
            self.add(self.member(user, "join"))

    def check(self, event: JsonDict) -> None:
        """Run the auth rules for `event` against the current state."""
        create = self.create if self.version.room_id_from_create_event else None
        check_auth(event, self.state, self.version, create_event=create)
