# SPDX-License-Identifier: Apache-2.0
"""users.yaml: searching the user directory."""
from __future__ import annotations

from ...http.request import Request
from ...services.user_directory import UserDirectory
from ...types import JsonDict

DEFAULT_LIMIT = 10  # spec: `limit` defaults to 10


class UserDirectoryHandlers:
    def __init__(self, *, directory: UserDirectory) -> None:
        self._directory = directory

    async def search_user_directory(self, request: Request) -> JsonDict:
        found, limited = self._directory.search(request.user.user_id, request.body["search_term"],
                                                request.body.get("limit", DEFAULT_LIMIT))
        return {"results": [entry.json() for entry in found], "limited": limited}
