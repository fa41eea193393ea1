# SPDX-License-Identifier: Apache-2.0
"""GET /.well-known/matrix/server: where a server name's federation traffic goes.

Serving it is optional — a server name may be resolved through SRV records or port 8448
instead — so a conforming server either answers 404 or a valid delegation. The suite
asks the target's federation listener, which is where a delegating deployment would
usually serve it too.

Spec: server-server-api/#resolving-server-names, #getwell-knownmatrixserver.
"""
from __future__ import annotations

WELL_KNOWN = "/.well-known/matrix"


def test_well_known_is_absent_or_names_a_server_to_delegate_to(federation):
    """The answer is 404 (no delegation) or 200 with `m.server` in server-name grammar.

    Spec: server-server-api/#getwell-knownmatrixserver — 200 with `m.server`, the
    delegated server name (host and optional port), or 404 when the server name does
    not delegate; it needs no request signature. (The harness holds a 200 body to the
    server-name grammar, as for every answer.)
    """
    response = federation.do("GET", ["server"], prefix=WELL_KNOWN, sign=False)

    assert response.status_code in (200, 404), \
        f"GET {WELL_KNOWN}/server answered {response.status_code}: {response.text[:300]}"
    delegated = response.json().get("m.server") if response.status_code == 200 else None
    assert response.status_code == 404 or (isinstance(delegated, str) and delegated), \
        f"a 200 answer must name the delegated server in m.server: {response.text[:300]}"
