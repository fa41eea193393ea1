# SPDX-License-Identifier: Apache-2.0
"""wellknown.yaml (server-server): delegating this server name's federation traffic.

Spec (server-server, resolving server names): `/.well-known/matrix/server` names the
host (and port) to send federation requests to. Served only when the configuration
names one; otherwise 404, and other servers go on to SRV records and port 8448.
"""
from __future__ import annotations

from ... import errors
from ...http.request import Request
from ...types import JsonDict


class DiscoveryHandlers:
    def __init__(self, *, delegated_to: str | None) -> None:
        self._delegated_to = delegated_to

    async def get_well_known(self, request: Request) -> JsonDict:
        if self._delegated_to is None:
            raise errors.not_found("This server name does not delegate federation.")
        return {"m.server": self._delegated_to}
