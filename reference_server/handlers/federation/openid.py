# SPDX-License-Identifier: Apache-2.0
"""openid.yaml (server-server): a third-party service checks an OpenID token.

Not a signed request: the caller is not a homeserver, and the token is the credential.
"""
from __future__ import annotations

from ...http.request import Request
from ...services.openid import OpenIdService
from ...types import JsonDict


class FederationOpenIdHandlers:
    def __init__(self, *, openid: OpenIdService) -> None:
        self._openid = openid

    async def exchange_open_id_token(self, request: Request) -> JsonDict:
        return self._openid.user_info(request.query["access_token"])
