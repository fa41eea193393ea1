# SPDX-License-Identifier: Apache-2.0
"""Operations in api/ that this server deliberately does not serve (yet), with why.

Start-up refuses an operation that has no handler unless it is listed here; such
operations answer 404 M_UNRECOGNIZED like any unknown endpoint.
"""
from __future__ import annotations

UNIMPLEMENTED: dict[str, str] = {
    "requestTokenToRegisterEmail": "no e-mail delivery: third-party identifiers are not supported",
    "requestTokenToRegisterMSISDN": "no SMS delivery: third-party identifiers are not supported",
    "requestTokenToResetPasswordEmail": "no e-mail delivery",
    "requestTokenToResetPasswordMSISDN": "no SMS delivery",
    "knockRoom": "knocking arrives with the rooms-core issue",
    "pingAppservice": "application services arrive with their own issue",
    "updateAppserviceRoomDirectoryVisibility": "application services arrive with their own issue",
}

# Whole API families not served yet. The application-service API is served by
# application services, never by a homeserver, so it is not routed at all.
UNIMPLEMENTED_FAMILIES: dict[str, str] = {
    "server-server": "federation arrives with the federation issue",
}
SERVED_FAMILIES = ("client-server", "server-server")
