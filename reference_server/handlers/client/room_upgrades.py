# SPDX-License-Identifier: Apache-2.0
"""room_upgrades.yaml."""
from __future__ import annotations

from ...http.request import Request
from ...services.upgrades import RoomUpgrader
from ...types import JsonDict


class RoomUpgradeHandlers:
    def __init__(self, *, upgrader: RoomUpgrader) -> None:
        self._upgrader = upgrader

    async def upgrade_room(self, request: Request) -> JsonDict:
        new_room = self._upgrader.upgrade(request.user.user_id, request.path["roomId"],
                                          request.body["new_version"],
                                          request.body.get("additional_creators"))
        return {"replacement_room": new_room}
