# SPDX-License-Identifier: Apache-2.0
"""The third-party network the suite's fake application service bridges, for lookups.

The registration declares one protocol, `conformance` (spec:
application-service-api/#third-party-networks). The service answers lookups about it
from the request alone, so a test can compute the answer it expects the homeserver to
pass on: a user lookup by `name` yields `@confas_<name>:<DOMAIN>`, a location lookup by
`channel` yields `#confas_<channel>:<DOMAIN>`, and the reverse lookups describe the
user ID or alias they were given. Nothing to find, or another protocol: 404.
"""
from __future__ import annotations

from typing import Any

from tools.appservice_registration import ALIAS_PREFIX, PROTOCOL, USER_PREFIX

JsonDict = dict[str, Any]
DOMAIN = "conformance.invalid"  # where the bridged network's Matrix IDs live
METADATA: JsonDict = {
    "user_fields": ["name"],
    "location_fields": ["channel"],
    "icon": "mxc://conformance.invalid/protocol-icon",
    "field_types": {"name": {"regexp": "[a-z0-9._=-]+", "placeholder": "alice"},
                    "channel": {"regexp": "[a-z0-9._=-]+", "placeholder": "lobby"}},
    "instances": [{"network_id": "conformance-net", "desc": "The conformance suite's network",
                   "fields": {}}],
}


def user(name: str) -> JsonDict:
    return {"userid": f"@{USER_PREFIX}{name}:{DOMAIN}", "protocol": PROTOCOL,
            "fields": {"name": name}}


def location(channel: str) -> JsonDict:
    return {"alias": f"#{ALIAS_PREFIX}{channel}:{DOMAIN}", "protocol": PROTOCOL,
            "fields": {"channel": channel}}


def answer(lookup: str, protocol: str | None, query: dict[str, str]) -> tuple[int, Any]:
    """(status, body) for `GET .../thirdparty/<lookup>[/<protocol>]?<query>`.

    `lookup` is `protocol`, `user` or `location`; `protocol` is None for the reverse
    lookups (`/thirdparty/user?userid=`, `/thirdparty/location?alias=`).
    """
    if protocol is not None and protocol != PROTOCOL:
        return 404, {"errcode": "M_NOT_FOUND", "error": f"no protocol {protocol!r} here"}
    found: Any = None
    if lookup == "protocol":
        found = METADATA
    elif lookup == "user" and protocol is None and query.get("userid"):
        localpart = query["userid"][1:].split(":", 1)[0]
        found = [{"userid": query["userid"], "protocol": PROTOCOL, "fields": {"name": localpart}}]
    elif lookup == "location" and protocol is None and query.get("alias"):
        localpart = query["alias"][1:].split(":", 1)[0]
        found = [{"alias": query["alias"], "protocol": PROTOCOL,
                  "fields": {"channel": localpart}}]
    elif lookup == "user" and query.get("name"):
        found = [user(query["name"])]
    elif lookup == "location" and query.get("channel"):
        found = [location(query["channel"])]
    if found is None:
        return 404, {"errcode": "M_NOT_FOUND", "error": "nothing matches in the network"}
    return 200, found
