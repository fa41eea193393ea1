# SPDX-License-Identifier: Apache-2.0
"""space_hierarchy.yaml (client-server)."""
from __future__ import annotations

from ...http.request import Request
from ...services.space_hierarchy import SpaceHierarchy
from ...types import JsonDict


class SpaceHandlers:
    def __init__(self, *, hierarchy: SpaceHierarchy) -> None:
        self._hierarchy = hierarchy

    async def get_space_hierarchy(self, request: Request) -> JsonDict:
        query = request.query
        return await self._hierarchy.page(
            request.user.user_id, request.path["roomId"],
            suggested_only=query.get("suggested_only", False),
            max_depth=query.get("max_depth"), limit=query.get("limit"),
            from_token=query.get("from"))
