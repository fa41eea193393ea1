# SPDX-License-Identifier: Apache-2.0
"""The room version table matches the per-version specification pages."""
from __future__ import annotations

import pytest

from reference_server.protocol.room_versions import (
    DEFAULT_ROOM_VERSION,
    KNOWN_ROOM_VERSIONS,
    EventIdFormat,
    StateResAlgorithm,
    room_version,
)

ALL = [str(n) for n in range(1, 13)]


def versions_where(flag: str) -> list[str]:
    return [v for v in ALL if getattr(KNOWN_ROOM_VERSIONS[v], flag)]


def test_versions_one_to_twelve_are_known() -> None:
    assert list(KNOWN_ROOM_VERSIONS) == ALL
    assert all(room_version(v).identifier == v for v in ALL)


@pytest.mark.parametrize("identifier", ["0", "13", "1.0", "org.matrix.hydra.11", ""])
def test_unknown_versions_are_none(identifier: str) -> None:
    assert room_version(identifier) is None


def test_default_is_twelve() -> None:
    """rooms/: "Servers SHOULD use room version 12 as the default" (MSC4304)."""
    assert DEFAULT_ROOM_VERSION == "12"
    assert room_version(DEFAULT_ROOM_VERSION) is not None


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("enforce_key_validity", ALL[4:]),
        ("auth_checks_redactions", ALL[:2]),
        ("special_case_aliases_auth", ALL[:5]),
        ("redaction_keeps_aliases", ALL[:5]),
        ("strict_canonical_json", ALL[5:]),
        ("limit_notifications_power_levels", ALL[5:]),
        ("knock_join_rule", ALL[6:]),
        ("restricted_join_rule", ALL[7:]),
        ("redaction_keeps_join_authorised", ALL[8:]),
        ("knock_restricted_join_rule", ALL[9:]),
        ("enforce_int_power_levels", ALL[9:]),
        ("implicit_room_creator", ALL[10:]),
        ("updated_redaction_rules", ALL[10:]),
        ("redacts_in_content", ALL[10:]),
        ("room_id_from_create_event", ["12"]),
        ("creators_have_infinite_power", ["12"]),
        ("auth_events_exclude_create", ["12"]),
    ],
)
def test_flag_introduced_in_the_right_version(flag: str, expected: list[str]) -> None:
    """Each behaviour is on exactly in the versions the spec gives it."""
    assert versions_where(flag) == expected


def test_event_id_formats() -> None:
    formats = [KNOWN_ROOM_VERSIONS[v].event_id_format for v in ALL]
    assert formats == [EventIdFormat.V1_SERVER_GENERATED] * 2 + [EventIdFormat.V2_BASE64] + [
        EventIdFormat.V3_URLSAFE_BASE64
    ] * 9


def test_state_resolution_algorithms() -> None:
    algorithms = [KNOWN_ROOM_VERSIONS[v].state_res for v in ALL]
    assert algorithms == [StateResAlgorithm.V1] + [StateResAlgorithm.V2] * 10 + [StateResAlgorithm.V2_1]


def test_depth_limit_drops_with_strict_json() -> None:
    assert KNOWN_ROOM_VERSIONS["5"].max_depth == 2**63 - 1
    assert KNOWN_ROOM_VERSIONS["6"].max_depth == 2**53 - 1
