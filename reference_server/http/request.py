# SPDX-License-Identifier: Apache-2.0
"""What a handler receives: validated inputs and who is asking."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types import DeviceId, JsonDict, UserId


@dataclass(frozen=True)
class Requester:
    """The authenticated caller, resolved from an access token."""

    user_id: UserId
    device_id: DeviceId | None
    access_token: str
    is_guest: bool = False
    appservice_id: str | None = None


@dataclass
class Request:
    operation_id: str
    body: JsonDict
    path: dict[str, str]
    query: dict[str, Any]
    requester: Requester | None
    client_ip: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    origin: str | None = None  # the signing server, for federation requests
    raw_query: dict[str, list[str]] = field(default_factory=dict)  # every parameter, as sent
    raw_body: bytes = b""  # the bytes of a non-JSON body (uploads); empty otherwise

    @property
    def server(self) -> str:
        """The calling server; only federation handlers use this."""
        assert self.origin is not None, "operation requires a signed federation request"
        return self.origin

    @property
    def user(self) -> Requester:
        """The caller; only handlers of operations that require authentication use this."""
        assert self.requester is not None, "operation requires authentication"
        return self.requester


@dataclass
class Response:
    """A handler's answer when 200 with a JSON body is not enough.

    A `bytes` body is sent as is, with the headers given (which name its Content-Type).
    """

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
