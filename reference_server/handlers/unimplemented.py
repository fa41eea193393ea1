# SPDX-License-Identifier: Apache-2.0
"""Operations in api/ that this server deliberately does not serve (yet), with why.

Start-up refuses an operation that has no handler unless it is listed here; such
operations answer 404 M_UNRECOGNIZED like any unknown endpoint.
"""
from __future__ import annotations

_FEDERATION_LATER = "arrives with the rest of the federation issue"

UNIMPLEMENTED: dict[str, dict[str, str]] = {
    "client-server": {
        "requestTokenToRegisterEmail": "no e-mail delivery: third-party IDs are not supported",
        "requestTokenToRegisterMSISDN": "no SMS delivery: third-party IDs are not supported",
        "requestTokenToResetPasswordEmail": "no e-mail delivery",
        "requestTokenToResetPasswordMSISDN": "no SMS delivery",
    },
    "server-server": {op: _FEDERATION_LATER for op in (
        "getEventByTimestamp", "sendInviteV1",
        "exchangeThirdPartyInvite", "onBindThirdPartyIdentifier", "getWellKnown",
        "getSpaceHierarchy", "exchangeOpenIdToken", "getContent", "getContentThumbnail",
        "askPolicyServerToSign",
    )},
}

# The application-service API is served by application services, never by a homeserver.
SERVED_FAMILIES = ("client-server", "server-server")
