# SPDX-License-Identifier: Apache-2.0
"""Failures of the pure protocol rules, as exceptions carrying a readable reason."""
from __future__ import annotations


class AuthError(Exception):
    """An event fails the authorisation rules; `reason` says which rule and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EventFormatError(ValueError):
    """An event does not have the format its room version requires, so it is dropped."""
