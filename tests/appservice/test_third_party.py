# SPDX-License-Identifier: Apache-2.0
"""Third-party lookups, answered by the application service that bridges the network.

The suite's registration declares the protocol `conformance`; the homeserver serves
`/_matrix/client/v3/thirdparty/...` by asking the service's
`/_matrix/app/v1/thirdparty/...` and passing its answer on (the fake service's answers
are computed from the request: `tests/harness/appservice_thirdparty.py`).

Spec: client-server-api/#third-party-lookups, application-service-api/#third-party-networks.
"""
from __future__ import annotations

import pytest

from tests.harness import appservice_thirdparty as network
from tests.harness.assertions import expect_error, expect_ok, expect_status
from tools.appservice_registration import PROTOCOL

pytestmark = pytest.mark.appservice

PROTOCOL_KEYS = ("user_fields", "location_fields", "icon", "field_types")


def lookups_received(appservice, lookup: str, **query: str) -> list[dict]:
    """The service's third-party requests of this kind carrying these query values."""
    appservice.records.refresh()
    return [r for r in appservice.records.all()
            if r.get("kind") == "thirdparty" and f"/thirdparty/{lookup}" in r["path"]
            and all((r.get("query") or {}).get(k) == v for k, v in query.items())]


def assert_describes_the_protocol(described: dict) -> None:
    """The service's description of the protocol, each instance given an instance_id."""
    assert {k: described.get(k) for k in PROTOCOL_KEYS} == \
        {k: network.METADATA[k] for k in PROTOCOL_KEYS}, described
    instances = described.get("instances") or []
    assert [i.get("network_id") for i in instances] == \
        [i["network_id"] for i in network.METADATA["instances"]], described
    ids = [i.get("instance_id") for i in instances]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids), instances


def test_protocols_lists_the_services_protocol(hs, appservice):
    """GET /thirdparty/protocols includes the service's protocol as the service describes it.

    Spec: client-server-api/#get_matrixclientv3thirdpartyprotocols — the protocols the
    homeserver supports; each instance gains an instance_id unique on the homeserver,
    the rest comes from the service's GET /_matrix/app/v1/thirdparty/protocol/{protocol}.
    """
    alice = hs.register()

    protocols = expect_ok(alice.do("GET", ["thirdparty", "protocols"]), "list the protocols")

    assert PROTOCOL in protocols, protocols
    assert_describes_the_protocol(protocols[PROTOCOL])


def test_protocol_metadata_comes_from_the_service(hs, appservice):
    """GET /thirdparty/protocol/{protocol} answers with the service's description of it.

    Spec: client-server-api/#get_matrixclientv3thirdpartyprotocolprotocol,
    application-service-api/#get_matrixappv1thirdpartyprotocolprotocol.
    """
    alice = hs.register()

    described = expect_ok(alice.do("GET", ["thirdparty", "protocol", PROTOCOL]),
                          f"describe {PROTOCOL}")

    assert_describes_the_protocol(described)


@pytest.mark.parametrize("lookup", [
    pytest.param("protocol", id="protocol-metadata"),
    pytest.param("location", id="location-lookup"),
    pytest.param("user", id="user-lookup"),
])
def test_unknown_protocol_is_not_found(hs, appservice, lookup):
    """A protocol no service declares: 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3thirdpartyprotocolprotocol — 404 when the
    protocol is unknown; #get_matrixclientv3thirdpartylocationprotocol and
    #get_matrixclientv3thirdpartyuserprotocol — 404 when nothing was found.
    """
    alice = hs.register()

    response = alice.do("GET", ["thirdparty", lookup, f"unknown-{appservice.tag}"])

    expect_error(response, 404, "M_NOT_FOUND")


def test_user_lookup_passes_the_fields_to_the_service(hs, appservice):
    """GET /thirdparty/user/{protocol} hands the search fields to the service and
    answers with the users it found.

    Spec: client-server-api/#get_matrixclientv3thirdpartyuserprotocol — the fields are
    passed to the service; application-service-api/#get_matrixappv1thirdpartyuserprotocol.
    """
    alice = hs.register()
    name = f"u-{appservice.tag}"

    found = expect_status(alice.do("GET", ["thirdparty", "user", PROTOCOL],
                                  params={"name": name}), 200)

    assert found == [network.user(name)], found
    assert lookups_received(appservice, f"user/{PROTOCOL}", name=name), \
        "the service was not asked"


def test_location_lookup_passes_the_fields_to_the_service(hs, appservice):
    """GET /thirdparty/location/{protocol} hands the search fields to the service and
    answers with the portal rooms it found.

    Spec: client-server-api/#get_matrixclientv3thirdpartylocationprotocol,
    application-service-api/#get_matrixappv1thirdpartylocationprotocol.
    """
    alice = hs.register()
    channel = f"c-{appservice.tag}"

    found = expect_status(alice.do("GET", ["thirdparty", "location", PROTOCOL],
                                  params={"channel": channel}), 200)

    assert found == [network.location(channel)], found
    assert lookups_received(appservice, f"location/{PROTOCOL}", channel=channel), \
        "the service was not asked"


def test_location_lookup_finding_nothing_is_not_found(hs, appservice):
    """When the service finds no portal room, the lookup answers 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3thirdpartylocationprotocol — 200 when at
    least one portal room was found, 404 when none was.
    """
    alice = hs.register()
    tag = f"empty-{appservice.tag}"

    response = alice.do("GET", ["thirdparty", "location", PROTOCOL], params={"other": tag})

    expect_error(response, 404, "M_NOT_FOUND")
    assert lookups_received(appservice, f"location/{PROTOCOL}", other=tag), \
        "the service was not asked"


def test_reverse_user_lookup_asks_the_service(hs, appservice):
    """GET /thirdparty/user?userid= answers with the third-party users the service maps
    that Matrix user to.

    Spec: client-server-api/#get_matrixclientv3thirdpartyuser,
    application-service-api/#get_matrixappv1thirdpartyuser.
    """
    alice = hs.register()
    user_id = appservice.fresh_user_id()
    expected = network.answer("user", None, {"userid": user_id})[1]

    found = expect_status(alice.do("GET", ["thirdparty", "user"], params={"userid": user_id}),
                          200)

    assert found == expected, found


def test_reverse_location_lookup_asks_the_service(hs, appservice):
    """GET /thirdparty/location?alias= answers with the third-party locations the
    service maps that alias to.

    Spec: client-server-api/#get_matrixclientv3thirdpartylocation,
    application-service-api/#get_matrixappv1thirdpartylocation.
    """
    alice = hs.register()
    alias = appservice.fresh_alias()
    expected = network.answer("location", None, {"alias": alias})[1]

    found = expect_status(alice.do("GET", ["thirdparty", "location"], params={"alias": alias}),
                          200)

    assert found == expected, found
