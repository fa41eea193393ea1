# SPDX-License-Identifier: Apache-2.0
"""History visibility: may this user see this event?

Spec (client-server, history visibility): decided from the state of the room at the
event — its `m.room.history_visibility` and the user's membership then — and, for
`shared`, from whether the user is joined now.
"""
from __future__ import annotations

from ..storage.events import StoredEvent
from ..types import UserId
from .events import RoomEvents


class Visibility:
    def __init__(self, room_events: RoomEvents) -> None:
        self._events = room_events

    def can_see(self, user_id: UserId, event: StoredEvent, *, joined_now: bool) -> bool:
        pdu = event.pdu
        if pdu["type"] == "m.room.member" and pdu.get("state_key") == user_id:
            return True  # users always see changes to their own membership
        state = self._events.state_before(event)
        visibility = "shared"
        hv_id = state.get(("m.room.history_visibility", ""))
        if hv_id:
            visibility = self._events.events.get(hv_id).pdu["content"].get(
                "history_visibility", "shared")
        membership = None
        member_id = state.get(("m.room.member", user_id))
        if member_id:
            membership = self._events.events.get(member_id).pdu["content"].get("membership")
        if _allowed(visibility, membership, joined_now=joined_now):
            return True
        # A history visibility event is visible if the setting after it allows it, too.
        if pdu["type"] == "m.room.history_visibility" and pdu.get("state_key") == "":
            after = pdu["content"].get("history_visibility", "shared")
            return _allowed(after, membership, joined_now=joined_now)
        return False


def _allowed(visibility: str, membership: str | None, *, joined_now: bool) -> bool:
    """The spec's rules 1-5 for one history visibility setting."""
    if visibility not in ("world_readable", "shared", "invited", "joined"):
        visibility = "shared"  # a value not understood counts as `shared`
    if visibility == "world_readable":
        return True
    if membership == "join":
        return True
    if visibility == "shared" and joined_now:
        return True
    return visibility == "invited" and membership == "invite"
