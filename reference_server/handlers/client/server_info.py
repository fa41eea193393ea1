# SPDX-License-Identifier: Apache-2.0
"""versions.yaml, wellknown.yaml, capabilities.yaml: what the server offers."""
from __future__ import annotations

from ...http.request import Request
from ...protocol.room_versions import DEFAULT_ROOM_VERSION, KNOWN_ROOM_VERSIONS
from ...types import JsonDict

SPEC_VERSIONS = ["v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9",
                 "v1.10", "v1.11", "v1.12", "v1.13", "v1.14", "v1.15", "v1.16"]


class ServerInfoHandlers:
    def __init__(self, *, public_base_url: str, unstable_features: dict[str, bool]) -> None:
        self._base_url = public_base_url
        self._unstable = unstable_features

    async def get_versions(self, request: Request) -> JsonDict:
        return {"versions": SPEC_VERSIONS, "unstable_features": dict(self._unstable)}

    async def get_wellknown(self, request: Request) -> JsonDict:
        return {"m.homeserver": {"base_url": self._base_url}}

    async def get_capabilities(self, request: Request) -> JsonDict:
        return {"capabilities": {
            "m.change_password": {"enabled": True},
            "m.room_versions": {
                "default": DEFAULT_ROOM_VERSION,
                "available": {v: "stable" for v in KNOWN_ROOM_VERSIONS},
            },
            "m.set_displayname": {"enabled": True},
            "m.set_avatar_url": {"enabled": True},
            "m.3pid_changes": {"enabled": False},
            "m.get_login_token": {"enabled": False},
            "m.profile_fields": {"enabled": True},
        }}
