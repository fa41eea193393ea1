# SPDX-License-Identifier: Apache-2.0
"""Wakes long-polling /sync requests when anything they might report has changed.

One trio.Event per generation: every write sets the current event and starts a new
generation, so a waiter never misses a change that happened after it read its position.
"""
from __future__ import annotations

import trio


class Notifier:
    def __init__(self) -> None:
        self._changed = trio.Event()

    def notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def generation(self) -> trio.Event:
        """The event that the next change will set; take it before reading state."""
        return self._changed

    @staticmethod
    async def wait(generation: trio.Event, *, timeout_s: float) -> bool:
        """Wait for a change after `generation` was taken; False on timeout."""
        with trio.move_on_after(timeout_s):
            await generation.wait()
            return True
        return False
