# SPDX-License-Identifier: Apache-2.0
"""User directory search: find users by user ID or display name.

Spec: client-server-api/#user-directory. The server picks which users are searched, but
MUST at least consider the users the requester can see through rooms: those sharing a
room with them, and those joined to rooms that are `public` to join or `world_readable`.
That is exactly the set searched here. Matching is a case-insensitive substring match on
the user ID and the display name; names that start with the term rank first.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..storage.user_directory import UserDirectoryStore
from ..types import JsonDict, RoomId, UserId

MAX_LIMIT = 100  # a server may cap how many results one search returns


@dataclass(frozen=True)
class DirectoryEntry:
    user_id: UserId
    display_name: str | None
    avatar_url: str | None

    def json(self) -> JsonDict:
        found: JsonDict = {"user_id": self.user_id}
        if self.display_name:
            found["display_name"] = self.display_name
        if self.avatar_url:
            found["avatar_url"] = self.avatar_url
        return found


class UserDirectory:
    def __init__(self, *, store: UserDirectoryStore, is_local: Callable[[UserId], bool],
                 profile_of: Callable[[UserId], JsonDict]) -> None:
        self._store = store
        self._is_local = is_local
        self._profile_of = profile_of

    def search(self, requester: UserId, term: str, limit: int) -> tuple[list[DirectoryEntry], bool]:
        """The best `limit` matches, and whether more matched than were returned."""
        limit = max(0, min(limit, MAX_LIMIT))
        needle = term.casefold().strip()
        rooms = self._store.joined_rooms(requester) | self._open_rooms()
        matches = [entry for entry in self._visible_users(rooms).values()
                   if _matches(entry, needle)]
        matches.sort(key=lambda entry: (_rank(entry, needle), entry.user_id))
        return matches[:limit], len(matches) > limit

    def _open_rooms(self) -> set[RoomId]:
        """Rooms anyone can look into: `public` join rule or `world_readable` history."""
        open_rooms = set()
        for room_id, event_type, content in self._store.openness_state():
            if (event_type == "m.room.join_rules" and content.get("join_rule") == "public") or (
                    event_type == "m.room.history_visibility"
                    and content.get("history_visibility") == "world_readable"):
                open_rooms.add(room_id)
        return open_rooms

    def _visible_users(self, rooms: set[RoomId]) -> dict[UserId, DirectoryEntry]:
        """Members of these rooms with their profile: the global one for local users,
        the member event's for others (the only one this server holds)."""
        entries: dict[UserId, DirectoryEntry] = {}
        for room_id, user_id, content in self._store.joined_members():
            if room_id not in rooms or user_id in entries:
                continue
            profile = self._profile_of(user_id) if self._is_local(user_id) else {
                "displayname": content.get("displayname"), "avatar_url": content.get("avatar_url")}
            entries[user_id] = DirectoryEntry(user_id, _text(profile.get("displayname")),
                                              _mxc(profile.get("avatar_url")))
        return entries


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _mxc(value: object) -> str | None:
    return value if isinstance(value, str) and value.startswith("mxc://") else None


def _matches(entry: DirectoryEntry, needle: str) -> bool:
    return needle in entry.user_id.casefold() or needle in (entry.display_name or "").casefold()


def _rank(entry: DirectoryEntry, needle: str) -> int:
    """0 when a name starts with the term, 1 for a match elsewhere; profiles before none."""
    names = (entry.user_id[1:].casefold(), (entry.display_name or "").casefold())
    starts = any(name.startswith(needle) for name in names)
    return (0 if starts else 2) + (0 if entry.display_name else 1)
