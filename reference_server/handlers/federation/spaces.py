# SPDX-License-Identifier: Apache-2.0
"""space_hierarchy.yaml (server-server): another server asks about a space here."""
from __future__ import annotations

from ...http.request import Request
from ...services.space_hierarchy import SpaceHierarchy
from ...types import JsonDict


class FederationSpaceHandlers:
    def __init__(self, *, hierarchy: SpaceHierarchy) -> None:
        self._hierarchy = hierarchy

    async def get_space_hierarchy(self, request: Request) -> JsonDict:
        return self._hierarchy.for_server(request.server, request.path["roomId"],
                                          suggested_only=request.query.get("suggested_only",
                                                                           False))
