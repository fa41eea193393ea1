# SPDX-License-Identifier: Apache-2.0
"""openid.yaml (client-server)."""
from __future__ import annotations

from ...http.request import Request
from ...services.openid import OpenIdService
from ...types import JsonDict


class OpenIdHandlers:
    def __init__(self, *, openid: OpenIdService) -> None:
        self._openid = openid

    async def request_open_id_token(self, request: Request) -> JsonDict:
        return self._openid.request_token(request.user.user_id, request.path["userId"])
