# SPDX-License-Identifier: Apache-2.0
"""Server ACL parsing and matching (client-server-api/#server-access-control-lists-acls-for-rooms)."""
from __future__ import annotations

import pytest

from reference_server.protocol.server_acl import InvalidAcl, parse_acl, server_allowed

ACL = {"allow": ["*"], "deny": ["*.evil.example", "evil.example"], "allow_ip_literals": False}


@pytest.mark.parametrize(
    ("server", "allowed"),
    [
        pytest.param("good.example", True, id="allowed-by-wildcard"),
        pytest.param("good.example:8448", True, id="port-is-ignored"),
        pytest.param("evil.example", False, id="denied-exactly"),
        pytest.param("sub.evil.example:443", False, id="denied-by-glob"),
        pytest.param("EVIL.example", False, id="case-insensitive"),
        pytest.param("1.2.3.4", False, id="ip-literal-refused"),
        pytest.param("[::1]:8448", False, id="ipv6-literal-refused"),
    ],
)
def test_matching(server: str, allowed: bool) -> None:
    assert server_allowed(parse_acl(ACL), server) is allowed


def test_question_mark_matches_one_character() -> None:
    acl = parse_acl({"allow": ["a?.example"]})
    assert server_allowed(acl, "ab.example")
    assert not server_allowed(acl, "abc.example")


def test_no_allow_list_denies_everyone() -> None:
    assert not server_allowed(parse_acl({"deny": []}), "anything.example")


def test_ip_literals_allowed_by_default() -> None:
    assert server_allowed(parse_acl({"allow": ["*"]}), "127.0.0.1:8448")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"allow": "*"}, id="allow-not-a-list"),
        pytest.param({"deny": [1]}, id="non-string-entry"),
        pytest.param({"allow": ["*"], "allow_ip_literals": "no"}, id="ip-flag-not-boolean"),
    ],
)
def test_strict_parsing_refuses_malformed_content(content: dict) -> None:
    with pytest.raises(InvalidAcl):
        parse_acl(content)


def test_lenient_parsing_ignores_malformed_entries() -> None:
    acl = parse_acl({"allow": ["*", 5], "allow_ip_literals": "x"}, strict=False)
    assert acl.allow == ("*",) and acl.allow_ip_literals is True
