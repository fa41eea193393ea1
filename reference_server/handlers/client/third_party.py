# SPDX-License-Identifier: Apache-2.0
"""third_party_lookup.yaml: third-party network lookups, answered by application services."""
from __future__ import annotations

from ... import errors
from ...appservices.calls import AppServiceCalls
from ...appservices.registry import AppServiceRegistry
from ...http.request import Request
from ...types import JsonDict


class ThirdPartyHandlers:
    def __init__(self, *, registry: AppServiceRegistry, calls: AppServiceCalls) -> None:
        self._registry = registry
        self._calls = calls

    def _services_for(self, protocol: str):
        services = [s for s in self._registry.services if protocol in s.protocols]
        if not services:
            raise errors.not_found(f"No bridge here speaks {protocol!r}.")
        return services

    async def get_protocols(self, request: Request) -> JsonDict:
        found: JsonDict = {}
        for protocol in sorted({p for s in self._registry.services for p in s.protocols}):
            described = await self._describe(protocol)
            if described is not None:
                found[protocol] = described
        return found

    async def get_protocol_metadata(self, request: Request) -> JsonDict:
        protocol = request.path["protocol"]
        described = await self._describe(protocol)
        if described is None:
            raise errors.not_found(f"No bridge could describe {protocol!r}.")
        return described

    async def _describe(self, protocol: str) -> JsonDict | None:
        """The first description a service gives, with every service's instances, each
        given the `instance_id` clients pass as `third_party_instance_id` to /publicRooms
        (client-server, third-party lookups). That is the instance's network_id, the key
        under which a service lists rooms in its network's directory."""
        described: JsonDict | None = None
        for service in self._services_for(protocol):
            answer = await self._calls.third_party(service, f"protocol/{protocol}", {})
            if not isinstance(answer, dict):
                continue
            instances = [{**item, "instance_id": item.get("network_id")}
                         for item in answer.get("instances") or []
                         if isinstance(item, dict) and isinstance(item.get("network_id"), str)]
            if described is None:
                described = {**answer, "instances": instances}
            else:
                described["instances"] += instances
        return described

    async def query_location_by_protocol(self, request: Request) -> list:
        return await self._gather(request, "location")

    async def query_user_by_protocol(self, request: Request) -> list:
        return await self._gather(request, "user")

    async def _gather(self, request: Request, kind: str) -> list:
        protocol = request.path["protocol"]
        results: list = []
        for service in self._services_for(protocol):
            answer = await self._calls.third_party(service, f"{kind}/{protocol}",
                                                   request.raw_query)
            if isinstance(answer, list):
                results.extend(answer)
        if not results:
            raise errors.not_found(f"Nothing in {protocol!r} matches.")
        return results

    async def query_location_by_alias(self, request: Request) -> list:
        alias = request.query["alias"]
        return await self._ask_owners(self._registry.services, "location", {"alias": [alias]},
                                      lambda s: s.owns_alias(alias))

    async def query_user_by_id(self, request: Request) -> list:
        user_id = request.query["userid"]
        return await self._ask_owners(self._registry.services, "user", {"userid": [user_id]},
                                      lambda s: s.owns_user(user_id))

    async def _ask_owners(self, services, kind: str, query: dict, owns) -> list:
        results: list = []
        for service in services:
            if owns(service):
                answer = await self._calls.third_party(service, kind, query)
                if isinstance(answer, list):
                    results.extend(answer)
        if not results:
            raise errors.not_found("No bridge knows a third-party counterpart.")
        return results
