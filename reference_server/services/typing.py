# SPDX-License-Identifier: Apache-2.0
"""Typing notifications: ephemeral, in memory, expiring by themselves.

Each change bumps a serial that starts at the wall clock in milliseconds, so serials keep
growing across restarts and old sync tokens stay comparable.
"""
from __future__ import annotations

from ..types import RoomId, UserId
from .clock import now_ms
from .notifier import Notifier

MAX_TIMEOUT_MS = 120_000


class TypingService:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._listeners: list = []
        self._typing: dict[RoomId, dict[UserId, int]] = {}
        self._changed_at: dict[RoomId, int] = {}
        self._serial = now_ms()

    @property
    def serial(self) -> int:
        self._expire()
        return self._serial

    def set_typing(self, room_id: RoomId, user_id: UserId, typing: bool, timeout_ms: int) -> None:
        users = self._typing.setdefault(room_id, {})
        if typing:
            users[user_id] = now_ms() + min(timeout_ms, MAX_TIMEOUT_MS)
        elif users.pop(user_id, None) is None:
            return
        self._bump(room_id)
        for listener in self._listeners:
            listener(room_id, user_id, typing)

    def on_change(self, listener) -> None:
        """Call `listener(room_id, user_id, typing)` on every change (federation relays it)."""
        self._listeners.append(listener)

    def _bump(self, room_id: RoomId) -> None:
        self._serial += 1
        self._changed_at[room_id] = self._serial
        self._notifier.notify()

    def _expire(self) -> None:
        now = now_ms()
        for room_id, users in self._typing.items():
            expired = [u for u, until in users.items() if until <= now]
            for user_id in expired:
                del users[user_id]
            if expired:
                self._serial += 1
                self._changed_at[room_id] = self._serial

    def changed_since(self, room_id: RoomId, since: int) -> bool:
        self._expire()
        return self._changed_at.get(room_id, 0) > since

    def typing_users(self, room_id: RoomId) -> list[UserId]:
        self._expire()
        return sorted(self._typing.get(room_id, {}))

    def next_expiry_ms(self) -> int | None:
        deadlines = [t for users in self._typing.values() for t in users.values()]
        return min(deadlines) - now_ms() if deadlines else None
