# SPDX-License-Identifier: Apache-2.0
"""directory.yaml and list_public_rooms.yaml: aliases and the public room list."""
from __future__ import annotations

from ...appservices.calls import AppServiceCalls, ask_then_retry
from ...appservices.registry import AppServiceRegistry
from ...http.request import Request
from ...services.directory import DirectoryService
from ...types import JsonDict


class DirectoryHandlers:
    def __init__(self, *, directory: DirectoryService, appservices: AppServiceRegistry,
                 calls: AppServiceCalls) -> None:
        self._directory = directory
        self._appservices = appservices
        self._calls = calls

    async def set_room_alias(self, request: Request) -> JsonDict:
        self._directory.set_alias(request.user.user_id, request.path["roomAlias"],
                                  request.body["room_id"],
                                  appservice_id=request.user.appservice_id)
        return {}

    async def get_room_id_by_alias(self, request: Request) -> JsonDict:
        alias = request.path["roomAlias"]
        return await ask_then_retry(lambda: self._directory.resolve(alias),
                                    self._appservices.alias_owner(alias),
                                    lambda service: self._calls.alias_exists(service, alias))

    async def delete_room_alias(self, request: Request) -> JsonDict:
        self._directory.delete_alias(request.user.user_id, request.path["roomAlias"])
        return {}

    async def get_local_aliases(self, request: Request) -> JsonDict:
        return {"aliases": self._directory.local_aliases(request.user.user_id,
                                                         request.path["roomId"])}

    async def get_room_visibility_on_directory(self, request: Request) -> JsonDict:
        return {"visibility": self._directory.visibility(request.path["roomId"])}

    async def set_room_visibility_on_directory(self, request: Request) -> JsonDict:
        self._directory.set_visibility(request.user.user_id, request.path["roomId"],
                                       request.body.get("visibility", "public"))
        return {}

    async def get_public_rooms(self, request: Request) -> JsonDict:
        return self._directory.public_rooms_query(request.query, None)

    async def query_public_rooms(self, request: Request) -> JsonDict:
        return self._directory.public_rooms_query(request.query, request.body)
