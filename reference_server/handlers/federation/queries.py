# SPDX-License-Identifier: Apache-2.0
"""query.yaml and public_rooms.yaml: lookups other servers make on our users and rooms."""
from __future__ import annotations

from ... import errors
from ...http.request import Request
from ...services.directory import DirectoryService
from ...services.profile import ProfileService
from ...types import JsonDict


class FederationQueryHandlers:
    def __init__(self, *, profiles: ProfileService, directory: DirectoryService,
                 server_name: str) -> None:
        self._profiles = profiles
        self._directory = directory
        self._server_name = server_name

    async def query_profile(self, request: Request) -> JsonDict:
        user_id = request.query["user_id"]
        if not user_id.endswith(":" + self._server_name):
            raise errors.invalid_param("That user is not on this server.")
        profile = self._profiles.get(user_id)
        field = request.query.get("field")
        if field is not None:
            if field not in profile:
                raise errors.not_found(f"The profile has no {field}.")
            return {field: profile[field]}
        return profile

    async def query_room_directory(self, request: Request) -> JsonDict:
        return self._directory.resolve(request.query["room_alias"])

    async def query_info(self, request: Request) -> JsonDict:
        raise errors.unrecognized(f"Unknown query type {request.path['queryType']!r}.")

    async def get_public_rooms(self, request: Request) -> JsonDict:
        return self._directory.public_rooms_query(request.query, None)

    async def query_public_rooms(self, request: Request) -> JsonDict:
        return self._directory.public_rooms_query(request.query, request.body)
