# SPDX-License-Identifier: Apache-2.0
"""presence.yaml."""
from __future__ import annotations

from ...http.request import Request
from ...services.presence import PresenceService
from ...types import JsonDict


class PresenceHandlers:
    def __init__(self, *, presence: PresenceService) -> None:
        self._presence = presence

    async def set_presence(self, request: Request) -> JsonDict:
        self._presence.set(request.user.user_id, request.path["userId"],
                           request.body["presence"], request.body.get("status_msg"))
        return {}

    async def get_presence(self, request: Request) -> JsonDict:
        return self._presence.get(request.user.user_id, request.path["userId"])
