# SPDX-License-Identifier: Apache-2.0
"""appservice_ping.yaml, appservice_room_directory.yaml: calls only application services make."""
from __future__ import annotations

from ... import errors
from ...appservices.calls import AppServiceCalls
from ...appservices.registry import AppServiceRegistry
from ...http.request import Request
from ...services.directory import DirectoryService
from ...types import JsonDict


class AppServiceHandlers:
    def __init__(self, *, registry: AppServiceRegistry, calls: AppServiceCalls,
                 directory: DirectoryService) -> None:
        self._registry = registry
        self._calls = calls
        self._directory = directory

    def _calling_service(self, request: Request):
        service = self._registry.by_id(request.user.appservice_id or "")
        if service is None:
            raise errors.forbidden("Only an application service may call this endpoint.")
        return service

    async def ping_appservice(self, request: Request) -> JsonDict:
        service = self._calling_service(request)
        if service.id != request.path["appserviceId"]:
            raise errors.forbidden("An application service may only ping itself.")
        return await self._calls.ping(service, request.body.get("transaction_id"))

    async def update_appservice_room_directory_visibility(self, request: Request) -> JsonDict:
        service = self._calling_service(request)
        self._directory.publish(service.id, request.path["networkId"], request.path["roomId"],
                                request.body["visibility"] == "public")
        return {}
