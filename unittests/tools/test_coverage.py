# SPDX-License-Identifier: Apache-2.0
"""Coverage is the exercised operations measured against the operations in `api/`."""
from __future__ import annotations

from api import Operation
from tools.coverage import coverage_lines, exercised_operations, measure


def operation(operation_id: str, family: str = "client-server") -> Operation:
    return Operation(operation_id=operation_id, method="GET", path=f"/{operation_id}",
                     family=family, feature=f"{family}/{operation_id}", spec={})


OPERATIONS = (
    operation("getVersions"),
    operation("joinRoom"),
    operation("leaveRoom"),
    operation("createRoom"),
    operation("sendJoin", "server-server"),
    operation("getKeys", "server-server"),
    operation("pushTransaction", "application-service"),
)


def test_exercised_operations_are_the_union_over_results():
    results = [
        {"nodeid": "a", "operations": ["joinRoom", "getVersions"]},
        {"nodeid": "b", "operations": ["joinRoom", "sendJoin"]},
        {"nodeid": "c", "operations": []},
        {"nodeid": "d"},
    ]
    assert exercised_operations(results) == {"joinRoom", "getVersions", "sendJoin"}


def test_coverage_counts_each_operation_once_with_its_percentage():
    coverage = measure({"joinRoom", "getVersions", "sendJoin"}, OPERATIONS)
    assert (coverage["exercised"], coverage["total"], coverage["percent"]) == (3, 7, 42.9)
    assert coverage["unexercised"] == ["createRoom", "getKeys", "leaveRoom", "pushTransaction"]


def test_coverage_is_also_given_per_family():
    families = measure({"joinRoom", "getVersions", "sendJoin"}, OPERATIONS)["families"]
    assert families["client-server"] == {"exercised": 2, "total": 4, "percent": 50.0}
    assert families["server-server"] == {"exercised": 1, "total": 2, "percent": 50.0}
    assert families["application-service"] == {"exercised": 0, "total": 1, "percent": 0.0}


def test_operations_missing_from_api_are_reported_not_counted():
    coverage = measure({"joinRoom", "notInTheSpec"}, OPERATIONS)
    assert coverage["exercised"] == 1
    assert coverage["unknown"] == ["notInTheSpec"]


def test_empty_api_gives_zero_percent_rather_than_dividing_by_zero():
    assert measure({"joinRoom"}, ())["percent"] == 0.0


def test_coverage_lines_state_the_overall_figure_then_each_family():
    lines = coverage_lines(measure({"joinRoom", "getVersions", "sendJoin"}, OPERATIONS))
    assert lines[0] == "API coverage: 3 of 7 operations exercised (42.9%)"
    assert lines[1:] == [
        "  client-server: 2 of 4 operations exercised (50.0%)",
        "  server-server: 1 of 2 operations exercised (50.0%)",
        "  application-service: 0 of 1 operations exercised (0.0%)",
    ]


def test_unreadable_api_is_reported_as_unavailable():
    assert coverage_lines({"error": "ScannerError: bad yaml"}) == [
        "API coverage: unavailable (ScannerError: bad yaml)"
    ]
