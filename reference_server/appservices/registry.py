# SPDX-License-Identifier: Apache-2.0
"""All loaded application services, and the questions the rest of the server asks of them."""
from __future__ import annotations

from .registration import AppService


class AppServiceRegistry:
    def __init__(self, services: list[AppService]) -> None:
        self.services = list(services)
        self._by_id = {s.id: s for s in services}

    def by_id(self, service_id: str) -> AppService | None:
        return self._by_id.get(service_id)

    def exclusive_user_owner(self, user_id: str) -> AppService | None:
        """The service that claims this user ID exclusively (others may not register it)."""
        return next((s for s in self.services if s.claims_user_exclusively(user_id)), None)

    def exclusive_alias_owner(self, alias: str) -> AppService | None:
        return next((s for s in self.services if s.claims_alias_exclusively(alias)), None)

    def exempt_from_rate_limits(self, user_id: str, appservice_id: str | None) -> bool:
        """Spec (registration, `rate_limited`): a service's sender is never limited; the
        users it masquerades as are limited unless `rate_limited` is false."""
        service = self.by_id(appservice_id or "")
        return service is not None and (user_id == service.sender or not service.rate_limited)

    def user_owner(self, user_id: str) -> AppService | None:
        return next((s for s in self.services if s.owns_user(user_id)), None)

    def alias_owner(self, alias: str) -> AppService | None:
        return next((s for s in self.services if s.owns_alias(alias)), None)

    def interested(self, room_id: str, *, users: list[str], aliases: list[str]) -> list[AppService]:
        """Services interested in a room event: a namespaced user is involved or joined, or
        the room (by ID or one of its aliases) is in a namespace."""
        return [s for s in self.services
                if s.owns_room(room_id) or any(s.owns_user(u) for u in users)
                or any(s.owns_alias(a) for a in aliases)]
