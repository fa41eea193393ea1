# SPDX-License-Identifier: Apache-2.0
"""When the server asks an application service about a user or alias before using it:
only for local, unknown names inside the service's namespaces (spec: application
service API, querying — an invite of an unknown user, a join by an unknown alias)."""
from __future__ import annotations

import re

import pytest
import trio

from reference_server.appservices.calls import AppServiceQueries
from reference_server.appservices.registration import AppService, Namespace
from reference_server.appservices.registry import AppServiceRegistry

SERVER = "hs.example"
KNOWN_USER, KNOWN_ALIAS = f"@_bridge_known:{SERVER}", f"#_bridge_known:{SERVER}"


class RecordingCalls:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def user_exists(self, service: AppService, user_id: str) -> bool:
        self.asked.append(("user", user_id))
        return True

    async def alias_exists(self, service: AppService, alias: str) -> bool:
        self.asked.append(("alias", alias))
        return True


def queries(calls: RecordingCalls) -> AppServiceQueries:
    service = AppService(id="bridge", url="http://bridge.invalid", as_token="as", hs_token="hs",
                         sender=f"@bot:{SERVER}",
                         users=(Namespace(re.compile("@_bridge_.*"), True),),
                         aliases=(Namespace(re.compile("#_bridge_.*"), True),), rooms=(),
                         rate_limited=False, receive_ephemeral=False, protocols=())
    return AppServiceQueries(registry=AppServiceRegistry([service]), calls=calls,
                             is_local=lambda name: name.endswith(":" + SERVER),
                             user_exists=lambda user_id: user_id == KNOWN_USER,
                             alias_exists=lambda alias: alias == KNOWN_ALIAS)


@pytest.mark.parametrize("kind, name, asked", [
    pytest.param("user", f"@_bridge_new:{SERVER}", True, id="unknown-namespaced-user"),
    pytest.param("user", KNOWN_USER, False, id="known-user"),
    pytest.param("user", f"@alice:{SERVER}", False, id="user-outside-namespaces"),
    pytest.param("user", "@_bridge_new:elsewhere.example", False, id="remote-user"),
    pytest.param("alias", f"#_bridge_new:{SERVER}", True, id="unknown-namespaced-alias"),
    pytest.param("alias", KNOWN_ALIAS, False, id="known-alias"),
    pytest.param("alias", f"#lobby:{SERVER}", False, id="alias-outside-namespaces"),
    pytest.param("alias", "#_bridge_new:elsewhere.example", False, id="remote-alias"),
])
def test_only_unknown_local_namespaced_names_are_queried(kind, name, asked) -> None:
    calls = RecordingCalls()
    trio.run(getattr(queries(calls), kind), name)
    assert calls.asked == ([(kind, name)] if asked else [])
