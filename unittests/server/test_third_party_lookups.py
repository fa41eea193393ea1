# SPDX-License-Identifier: Apache-2.0
"""Third-party lookups passed on to the services that declare the protocol: instances
gain an instance_id, and finding nothing is 404 (spec: client-server, third-party lookups)."""
from __future__ import annotations

import re

import pytest
import trio

from reference_server.appservices.registration import AppService, Namespace
from reference_server.appservices.registry import AppServiceRegistry
from reference_server.errors import MatrixError
from reference_server.handlers.client.third_party import ThirdPartyHandlers
from reference_server.http.request import Request

DESCRIPTION = {"user_fields": ["nick"], "location_fields": ["channel"], "icon": "mxc://a/b",
               "field_types": {}}


class Calls:
    """Answers like a service: `answers[(service id, path)]`, None when it says no."""

    def __init__(self, answers: dict) -> None:
        self.answers = answers

    async def third_party(self, service: AppService, path: str, query: dict) -> object | None:
        return self.answers.get((service.id, path))


def service(service_id: str) -> AppService:
    return AppService(id=service_id, url="http://bridge.invalid", as_token=f"as-{service_id}",
                      hs_token="hs", sender=f"@{service_id}:hs.example",
                      users=(Namespace(re.compile(f"@_{service_id}_.*"), True),), aliases=(),
                      rooms=(), rate_limited=False, receive_ephemeral=False, protocols=("irc",))


def handlers(answers: dict) -> ThirdPartyHandlers:
    return ThirdPartyHandlers(registry=AppServiceRegistry([service("a"), service("b")]),
                              calls=Calls(answers))


def request(path: dict, query: dict | None = None) -> Request:
    return Request(operation_id="x", body={}, path=path, query=query or {}, requester=None,
                   raw_query={k: [v] for k, v in (query or {}).items()})


def test_instances_of_every_service_are_listed_with_an_instance_id() -> None:
    answers = {("a", "protocol/irc"): {**DESCRIPTION, "instances": [
                   {"network_id": "libera", "desc": "Libera", "fields": {}}]},
               ("b", "protocol/irc"): {**DESCRIPTION, "instances": [
                   {"network_id": "oftc", "desc": "OFTC", "fields": {}}]}}
    described = trio.run(handlers(answers).get_protocol_metadata, request({"protocol": "irc"}))
    assert [(i["network_id"], i["instance_id"]) for i in described["instances"]] == \
        [("libera", "libera"), ("oftc", "oftc")]
    listed = trio.run(handlers(answers).get_protocols, request({}))
    assert listed == {"irc": described}


@pytest.mark.parametrize("method, path, query", [
    pytest.param("query_user_by_protocol", {"protocol": "irc"}, {"nick": "x"}, id="user"),
    pytest.param("query_location_by_protocol", {"protocol": "irc"}, {"channel": "x"},
                 id="location"),
    pytest.param("query_user_by_id", {}, {"userid": "@_a_x:hs.example"}, id="reverse-user"),
    pytest.param("get_protocol_metadata", {"protocol": "irc"}, {}, id="protocol"),
])
def test_nothing_found_is_not_found(method, path, query) -> None:
    with pytest.raises(MatrixError) as raised:
        trio.run(getattr(handlers({}), method), request(path, query))
    assert (raised.value.status, raised.value.errcode) == (404, "M_NOT_FOUND")
