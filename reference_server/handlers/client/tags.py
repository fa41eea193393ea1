# SPDX-License-Identifier: Apache-2.0
"""tags.yaml: a user's tags on a room."""
from __future__ import annotations

from ... import errors
from ...http.request import Request
from ...services.tags import TagService
from ...types import JsonDict


class TagHandlers:
    def __init__(self, *, tags: TagService) -> None:
        self._tags = tags

    def _own(self, request: Request) -> str:
        if request.path["userId"] != request.user.user_id:
            raise errors.forbidden("You may only access your own tags.")
        return request.user.user_id

    async def get_room_tags(self, request: Request) -> JsonDict:
        return {"tags": self._tags.tags(self._own(request), request.path["roomId"])}

    async def set_room_tag(self, request: Request) -> JsonDict:
        self._tags.set(self._own(request), request.path["roomId"], request.path["tag"],
                       request.body)
        return {}

    async def delete_room_tag(self, request: Request) -> JsonDict:
        self._tags.delete(self._own(request), request.path["roomId"], request.path["tag"])
        return {}
