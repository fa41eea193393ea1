# SPDX-License-Identifier: Apache-2.0
"""Conditions on /sync answers, for `Client.sync_until`.

Each constructor returns a `Check`: call it with one sync body and it answers None
when satisfied, or a sentence saying what is missing, which is what the test prints if
the condition never comes true. Tests wait for conditions; they never sleep.

    bob.sync_until(joined_to(room), timeline_has(room, event_id), timeout=10)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.harness.assertions import expect_error, expect_ok, expect_status
from tests.harness.client import Client, user_id_of

__all__ = [
    "Check", "joined_to", "invited_to", "left", "timeline_has", "state_has", "typing_in",
    "receipt_in", "account_data_has", "presence_of", "without", "expect_error", "expect_ok", "expect_status",
]

JsonDict = dict[str, Any]
Predicate = Callable[[JsonDict], bool]


@dataclass(frozen=True)
class Check:
    """A named condition on one sync body: None when met, else the reason it is not."""

    description: str
    test: Callable[[JsonDict], str | None]

    def __call__(self, body: JsonDict) -> str | None:
        return self.test(body)

    def __str__(self) -> str:
        return self.description


def _section(body: JsonDict, name: str) -> JsonDict:
    return (body.get("rooms") or {}).get(name) or {}


def _room(body: JsonDict, room_id: str) -> JsonDict:
    """The joined room's entry, falling back to the left one (its final events)."""
    return _section(body, "join").get(room_id) or _section(body, "leave").get(room_id) or {}


def _events(container: JsonDict | None, key: str) -> list[JsonDict]:
    return list(((container or {}).get(key) or {}).get("events") or [])


def _in_section(section: str, room_id: str, what: str) -> Check:
    def test(body: JsonDict) -> str | None:
        rooms = _section(body, section)
        if room_id in rooms:
            return None
        return f"{room_id} is not in rooms.{section} (which has {sorted(rooms) or 'nothing'})"
    return Check(what, test)


def joined_to(room_id: str) -> Check:
    return _in_section("join", room_id, f"joined to {room_id}")


def invited_to(room_id: str) -> Check:
    return _in_section("invite", room_id, f"invited to {room_id}")


def left(room_id: str) -> Check:
    """The room shows up as left: after leaving, a kick or a ban."""
    return _in_section("leave", room_id, f"left {room_id}")


def _summary(events: Iterable[JsonDict]) -> str:
    seen = [f"{e.get('type')} {e.get('event_id')}" for e in events]
    return ", ".join(seen[-5:]) or "no events"


def timeline_has(room_id: str, event_id: str | None = None,
                 predicate: Predicate | None = None) -> Check:
    """An event in the room's timeline: this ID and/or matching the predicate."""
    def matches(event: JsonDict) -> bool:
        return ((event_id is None or event.get("event_id") == event_id)
                and (predicate is None or predicate(event)))

    def test(body: JsonDict) -> str | None:
        events = _events(_room(body, room_id), "timeline")
        if any(matches(event) for event in events):
            return None
        return f"not in this answer's timeline of {room_id} ({_summary(events)})"
    what = f"event {event_id}" if event_id else "a matching event"
    return Check(f"{what} in the timeline of {room_id}", test)


def state_has(room_id: str, event_type: str, state_key: str = "",
              predicate: Predicate | None = None) -> Check:
    """A state event (type, state key) in the room's `state` or timeline."""
    def matches(event: JsonDict) -> bool:
        return (event.get("type") == event_type and event.get("state_key") == state_key
                and (predicate is None or predicate(event)))

    def test(body: JsonDict) -> str | None:
        room = _room(body, room_id)
        events = _events(room, "state") + _events(room, "timeline")
        if any(matches(event) for event in events):
            return None
        return f"not in this answer's state or timeline of {room_id} ({_summary(events)})"
    return Check(f"state {event_type}/{state_key!r} in {room_id}", test)


def _ephemeral(body: JsonDict, room_id: str, event_type: str) -> list[JsonDict]:
    events = _events(_section(body, "join").get(room_id), "ephemeral")
    return [event for event in events if event.get("type") == event_type]


def typing_in(room_id: str, user_ids: Iterable[Client | str]) -> Check:
    """The room's typing list is exactly these users (empty: nobody is typing)."""
    wanted = {user_id_of(user) for user in user_ids}

    def test(body: JsonDict) -> str | None:
        notices = _ephemeral(body, room_id, "m.typing")
        lists = [set(notice.get("content", {}).get("user_ids") or []) for notice in notices]
        if wanted in lists:
            return None
        if not lists:
            return f"no m.typing notice for {room_id} in this answer"
        return f"the typing list of {room_id} is {sorted(lists[-1])}"
    return Check(f"typing in {room_id}: {sorted(wanted) or 'nobody'}", test)


def receipt_in(room_id: str, event_id: str, user_id: Client | str,
               receipt_type: str = "m.read") -> Check:
    """A receipt of this type from this user for this event."""
    user = user_id_of(user_id)

    def test(body: JsonDict) -> str | None:
        for notice in _ephemeral(body, room_id, "m.receipt"):
            readers = (notice.get("content", {}).get(event_id) or {}).get(receipt_type) or {}
            if user in readers:
                return None
        return f"no {receipt_type} receipt by {user} for {event_id} in this answer"
    return Check(f"{receipt_type} receipt by {user} for {event_id} in {room_id}", test)


def account_data_has(event_type: str, room_id: str | None = None,
                     predicate: Predicate | None = None) -> Check:
    """Global (or, with `room_id`, room) account data of this type."""
    def test(body: JsonDict) -> str | None:
        source = body if room_id is None else _section(body, "join").get(room_id)
        events = _events(source, "account_data")
        if any(e.get("type") == event_type and (predicate is None or predicate(e))
               for e in events):
            return None
        return f"not in this answer's account data ({sorted(str(e.get('type')) for e in events)})"
    where = f" of {room_id}" if room_id else ""
    return Check(f"account data {event_type}{where}", test)


def presence_of(user: Client | str, presence: str, status_msg: str | None = None) -> Check:
    """An m.presence event in `presence` saying the user is `presence` (with that
    `status_msg`, when one is given)."""
    user_id = user_id_of(user)

    def test(body: JsonDict) -> str | None:
        for event in _events(body, "presence"):
            content = event.get("content") or {}
            if event.get("sender") == user_id and content.get("presence") == presence and \
                    (status_msg is None or content.get("status_msg") == status_msg):
                return None
        return f"no m.presence event saying {user_id} is {presence} in this answer"
    what = f" ({status_msg!r})" if status_msg is not None else ""
    return Check(f"presence of {user_id} is {presence}{what}", test)


def without(wanted: Check, *forbidden: Check) -> Check:
    """`wanted`, with none of `forbidden` met in any answer up to and including the one
    that meets it: for what must never reach a client, followed by what must.

        alice.sync_until(without(timeline_has(room, good_id), timeline_has(room, bad_id)))

    Once a forbidden check is met the condition can never pass, and says why.
    """
    happened: list[str] = []

    def test(body: JsonDict) -> str | None:
        happened.extend(str(check) for check in forbidden if check(body) is None)
        if happened:
            return f"{happened[0]} happened, which must not"
        return wanted(body)
    return Check(f"{wanted}, never {' or '.join(str(c) for c in forbidden)}", test)
