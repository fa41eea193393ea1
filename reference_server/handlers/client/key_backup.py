# SPDX-License-Identifier: Apache-2.0
"""key_backup.yaml (client-server): server-side key backups."""
from __future__ import annotations

from ...http.request import Request
from ...services.key_backups import KeyBackups
from ...types import JsonDict


class KeyBackupHandlers:
    def __init__(self, *, backups: KeyBackups) -> None:
        self._backups = backups

    async def post_room_keys_version(self, request: Request) -> JsonDict:
        return self._backups.create(request.user.user_id, request.body)

    async def get_room_keys_version_current(self, request: Request) -> JsonDict:
        return self._backups.describe_current(request.user.user_id)

    async def get_room_keys_version(self, request: Request) -> JsonDict:
        return self._backups.describe(request.user.user_id, request.path["version"])

    async def put_room_keys_version(self, request: Request) -> JsonDict:
        return self._backups.update(request.user.user_id, request.path["version"], request.body)

    async def delete_room_keys_version(self, request: Request) -> JsonDict:
        return self._backups.delete(request.user.user_id, request.path["version"])

    async def put_room_keys(self, request: Request) -> JsonDict:
        return self._backups.put_keys(request.user.user_id, request.query["version"],
                                      request.body["rooms"])

    async def put_room_keys_by_room_id(self, request: Request) -> JsonDict:
        return self._backups.put_keys(request.user.user_id, request.query["version"],
                                      {request.path["roomId"]: request.body})

    async def put_room_key_by_session_id(self, request: Request) -> JsonDict:
        room = {"sessions": {request.path["sessionId"]: request.body}}
        return self._backups.put_keys(request.user.user_id, request.query["version"],
                                      {request.path["roomId"]: room})

    async def get_room_keys(self, request: Request) -> JsonDict:
        return self._backups.get_keys(request.user.user_id, request.query["version"])

    async def get_room_keys_by_room_id(self, request: Request) -> JsonDict:
        return self._backups.get_keys(request.user.user_id, request.query["version"],
                                      request.path["roomId"])

    async def get_room_key_by_session_id(self, request: Request) -> JsonDict:
        return self._backups.get_keys(request.user.user_id, request.query["version"],
                                      request.path["roomId"], request.path["sessionId"])

    async def delete_room_keys(self, request: Request) -> JsonDict:
        return self._backups.delete_keys(request.user.user_id, request.query["version"])

    async def delete_room_keys_by_room_id(self, request: Request) -> JsonDict:
        return self._backups.delete_keys(request.user.user_id, request.query["version"],
                                         request.path["roomId"])

    async def delete_room_key_by_session_id(self, request: Request) -> JsonDict:
        return self._backups.delete_keys(request.user.user_id, request.query["version"],
                                         request.path["roomId"], request.path["sessionId"])
