# SPDX-License-Identifier: Apache-2.0
"""Operations in api/ that this server deliberately does not serve (yet), with why.

Start-up refuses an operation that has no handler unless it is listed here; such
operations answer 404 M_UNRECOGNIZED like any unknown endpoint.
"""
from __future__ import annotations

UNIMPLEMENTED: dict[str, dict[str, str]] = {
    "client-server": {
        "requestTokenToRegisterEmail": "no e-mail delivery: third-party IDs are not supported",
        "requestTokenToRegisterMSISDN": "no SMS delivery: third-party IDs are not supported",
        "requestTokenToResetPasswordEmail": "no e-mail delivery",
        "requestTokenToResetPasswordMSISDN": "no SMS delivery",
        **{op: "frozen since v1.11 in favour of the authenticated /_matrix/client/v1/media "
               "endpoints; it answers 404 M_UNRECOGNIZED, as the spec tells servers to "
               "expect of servers that froze them"
           for op in ("getConfig", "getContent", "getContentOverrideName",
                      "getContentThumbnail", "getUrlPreview")},
        "getUrlPreviewAuthed": "no outbound HTTP to arbitrary hosts: URL previews would need "
                               "fetching any web page a client names",
    },
    "server-server": {
        **{op: "no identity server support: third-party (3PID) invites are not supported"
           for op in ("exchangeThirdPartyInvite", "onBindThirdPartyIdentifier")},
        "askPolicyServerToSign": "this server is not a policy server; the spec has other "
                                 "servers answer it as an unsupported endpoint",
    },
}

# The application-service API is served by application services, never by a homeserver.
SERVED_FAMILIES = ("client-server", "server-server")
