# SPDX-License-Identifier: Apache-2.0
"""Two reference servers federate over TLS on loopback, each hosting the room in turn."""
from __future__ import annotations

from tools.interop import run


def test_two_reference_servers_federate_both_ways(tmp_path) -> None:
    """Join by alias, messages both ways, device keys, an invite, a profile, leaves, a knock, an ACL."""
    steps = run("reference", tmp_path)
    assert len(steps) == 16, steps


def test_reference_server_and_synapse_federate_both_ways(tmp_path) -> None:
    """The same scenario with Synapse from PyPI as the other server, each hosting in turn."""
    steps = run("synapse", tmp_path)
    assert len(steps) == 16, steps
