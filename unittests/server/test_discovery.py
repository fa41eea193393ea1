# SPDX-License-Identifier: Apache-2.0
"""Server name resolution, step by step (server-server-api/#resolving-server-names)."""
from __future__ import annotations

import json

import pytest
import trio

from reference_server.federation.discovery import Destination, resolve_server_name


def _resolve(name: str, *, well_known: dict[str, str] | None = None,
             srv: dict[str, tuple[str, int]] | None = None) -> Destination:
    async def fetch(host: str):
        value = (well_known or {}).get(host)
        return json.dumps({"m.server": value}).encode() if value else None

    async def lookup(record: str):
        return (srv or {}).get(record)

    return trio.run(lambda: resolve_server_name(name, fetch_well_known=fetch, srv_lookup=lookup))


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        pytest.param("1.2.3.4", {}, Destination("1.2.3.4", 8448, "1.2.3.4", "1.2.3.4"),
                     id="ip-literal-default-port"),
        pytest.param("[::1]:8449", {}, Destination("::1", 8449, "::1", "[::1]:8449"),
                     id="ipv6-literal-with-port"),
        pytest.param("hs.example:1234", {"well_known": {"hs.example": "x.example"}},
                     Destination("hs.example", 1234, "hs.example", "hs.example:1234"),
                     id="explicit-port-skips-well-known"),
        pytest.param("hs.example", {"well_known": {"hs.example": "matrix.example:443"}},
                     Destination("matrix.example", 443, "matrix.example", "matrix.example:443"),
                     id="well-known-with-port"),
        pytest.param("hs.example", {"well_known": {"hs.example": "matrix.example"},
                                    "srv": {"_matrix-fed._tcp.matrix.example": ("srv.example", 8000)}},
                     Destination("srv.example", 8000, "matrix.example", "matrix.example"),
                     id="well-known-then-srv"),
        pytest.param("hs.example", {"srv": {"_matrix._tcp.hs.example": ("old.example", 9000)}},
                     Destination("old.example", 9000, "hs.example", "hs.example"),
                     id="deprecated-srv"),
        pytest.param("hs.example", {}, Destination("hs.example", 8448, "hs.example", "hs.example"),
                     id="fallback-8448"),
    ],
)
def test_resolution_steps(name, kwargs, expected) -> None:
    assert _resolve(name, **kwargs) == expected
