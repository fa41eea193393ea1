# SPDX-License-Identifier: Apache-2.0
"""GET /_matrix/federation/v1/version: what software a homeserver runs.

Spec: server-server-api/#get_matrixfederationv1version.
"""
from __future__ import annotations

from tests.harness.assertions import expect_ok
from tests.harness.federation_routes import FEDERATION_V1


def test_version_names_the_server_implementation(federation):
    """The version endpoint answers with the implementation's name and version.

    Spec: server-server-api/#get_matrixfederationv1version — the answer's `server`
    object carries the implementation's `name` and `version` as strings.
    """
    server = federation.get_version().get("server")
    assert isinstance(server, dict), f"the answer has no `server` object: {server!r}"
    assert isinstance(server.get("name"), str) and server["name"], server
    assert isinstance(server.get("version"), str), server


def test_version_needs_no_request_signature(federation):
    """The version endpoint answers a request that carries no X-Matrix signature.

    Spec: server-server-api/#get_matrixfederationv1version — the endpoint declares no
    security requirement, unlike the signed federation endpoints.
    """
    expect_ok(federation.do("GET", ["version"], prefix=FEDERATION_V1, sign=False),
              "get the version without signing")
