# SPDX-License-Identifier: Apache-2.0
"""Results lines become per-area tables, a verdict, and JSON/Markdown reports."""
from __future__ import annotations

import io
import json

import pytest

from tools import report
from tools.conformance import merge


def line(nodeid: str, area: str, outcome: str, message: str = "", **extra) -> str:
    """One results line exactly as the pytest plugin writes it."""
    return json.dumps({"nodeid": nodeid, "area": area, "outcome": outcome,
                       "duration": 0.25, "spec": ["client-server-api/#joining"],
                       "operations": extra.get("operations", []), "message": message})


LINES = [
    line("tests/client_server/test_rooms.py::test_create", "client-server/create_room", "passed"),
    line("tests/client_server/test_joining.py::test_join", "client-server/joining", "passed"),
    line("tests/client_server/test_joining.py::test_ban", "client-server/joining", "failed",
         "POST /rooms/!r/join -> 200\nexpected 403 M_FORBIDDEN"),
    line("tests/client_server/test_joining.py::test_knock", "client-server/joining", "xfailed"),
    line("tests/federation/test_keys.py::test_keys", "server-server/keys", "skipped",
         "target does not advertise v1.11"),
    line("tests/client_server/test_misc.py::test_odd", "unknown", "error", "fixture broke"),
    line("tests/client_server/test_joining.py::test_old", "client-server/joining", "xpassed"),
]


def rows_by_area(rows):
    return {row[0]: row[1:] for row in rows[1:]}


def test_lines_in_any_order_give_the_same_counts():
    forward = report.count_by_area(report.parse_results(LINES))
    backward = report.count_by_area(report.parse_results(reversed(LINES)))
    assert forward == backward


def test_blank_partial_and_foreign_lines_are_skipped():
    noisy = ["", "   ", '{"nodeid": "tests/x.py::t", "area": "a", "outc', "[1, 2]", "not json",
             LINES[0]]
    assert [r["nodeid"] for r in report.parse_results(noisy)] == [
        "tests/client_server/test_rooms.py::test_create"]


def test_table_has_a_header_sorted_areas_and_a_totals_row():
    rows = report.table_rows(report.count_by_area(report.parse_results(LINES)))
    assert rows[0] == ["area", "passed", "failed", "xfailed", "xpassed", "skipped", "errors"]
    assert [row[0] for row in rows[1:]] == [
        "client-server/create_room", "client-server/joining", "server-server/keys",
        "unknown", "total"]
    by_area = rows_by_area(rows)
    assert by_area["client-server/joining"] == ["1", "1", "1", "1", "0", "0"]
    assert by_area["unknown"] == ["0", "0", "0", "0", "0", "1"]
    assert by_area["total"] == ["2", "1", "1", "1", "1", "1"]


def test_plain_table_aligns_counts_to_the_right():
    text = report.format_table(report.table_rows({"a": report.empty_counts()}))
    header, row, total = text.splitlines()
    assert header.startswith("area")
    assert header.endswith("errors") and row.endswith("     0") and total.startswith("total")
    assert len(header) == len(row) == len(total)


def test_outcomes_outside_the_contract_count_as_errors():
    results = report.parse_results([line("t.py::t", "a", "rerun")])
    assert report.count_by_area(results)["a"]["error"] == 1


@pytest.mark.parametrize("outcomes, status", [
    pytest.param(["passed", "xfailed", "skipped"], 0, id="only-good-outcomes"),
    pytest.param([], 0, id="no-tests"),
    pytest.param(["passed", "failed"], 1, id="a-failure"),
    pytest.param(["passed", "error"], 1, id="an-error"),
    pytest.param(["passed", "xpassed"], 1, id="an-unexpected-pass"),
])
def test_exit_status_is_zero_only_without_failures_errors_or_xpasses(outcomes, status):
    results = report.parse_results(line(f"t.py::t{i}", "a", o) for i, o in enumerate(outcomes))
    built = report.build_report({"target": report.summarize_target(results)})
    assert report.exit_status(built) == status


def test_one_failing_target_fails_the_whole_run():
    good = report.summarize_target(report.parse_results([LINES[0]]))
    bad = report.summarize_target(report.parse_results([LINES[2]]))
    assert report.exit_status(report.build_report({"a": good, "b": bad})) == 1


@pytest.mark.parametrize("status, ok", [
    pytest.param(0, True, id="all-passed"),
    pytest.param(5, True, id="nothing-collected"),
    pytest.param(1, False, id="failed-but-nothing-in-results"),
    pytest.param(2, False, id="interrupted"),
    pytest.param(3, False, id="internal-error"),
])
def test_pytest_exit_status_can_fail_a_target_whose_results_look_clean(status, ok):
    summary = report.summarize_target(report.parse_results([LINES[0]]), exit_status=status)
    assert summary["ok"] is ok
    assert bool(summary["problems"]) is not ok


def test_a_repeated_test_keeps_its_worst_outcome():
    results = report.parse_results([line("t.py::t", "a", "passed"),
                                    line("t.py::t", "a", "error", "teardown failed")])
    (kept,) = report.dedupe(results)
    assert kept["outcome"] == "error"


def test_failures_list_the_first_line_of_each_message():
    summary = report.summarize_target(report.parse_results(LINES))
    assert [(f["outcome"], f["nodeid"], f["message"]) for f in summary["failures"]] == [
        ("failed", "tests/client_server/test_joining.py::test_ban", "POST /rooms/!r/join -> 200"),
        ("xpassed", "tests/client_server/test_joining.py::test_old",
         "passed although listed in the expectations file; remove the entry"),
        ("error", "tests/client_server/test_misc.py::test_odd", "fixture broke"),
    ]


def test_text_and_markdown_show_the_table_coverage_and_failures():
    coverage = {"exercised": 1, "total": 4, "percent": 25.0, "families": {}, "unknown": []}
    summary = report.summarize_target(report.parse_results(LINES), coverage=coverage)
    built = report.build_report({"http://hs1:8008": summary})
    text = report.render_text(built)
    assert "== http://hs1:8008: FAILED" in text
    assert "API coverage: 1 of 4 operations exercised (25.0%)" in text
    assert "FAILED tests/client_server/test_joining.py::test_ban - POST /rooms/!r/join" in text
    markdown = report.render_markdown(built)
    assert "| area | passed | failed | xfailed | xpassed | skipped | errors |" in markdown
    assert "| client-server/joining | 1 | 1 | 1 | 1 | 0 | 0 |" in markdown
    assert "| **total** | **2** | **1** | **1** | **1** | **1** | **1** |" in markdown


def test_progress_line_shows_done_over_total_and_the_counts():
    counts = report.count_by_area([{"area": "x", "outcome": o} for o in
                                   ["passed", "passed", "failed", "skipped"]])["x"]
    assert report.progress_line("hs1", counts, 10) == "hs1  4/10 passed 2 failed 1 skipped 1"
    assert report.progress_line("hs1", report.empty_counts(), None) == "hs1  0/? passed 0 failed 0"


def test_merge_sums_ci_shards_into_one_report(tmp_path):
    shard1, shard2 = tmp_path / "shard1.jsonl", tmp_path / "shard2.jsonl"
    shard1.write_text("\n".join(LINES[:3]) + "\n")
    shard2.write_text("\n".join(LINES[3:5]) + "\n")
    built = merge([str(shard1), str(shard2)], out=tmp_path / "out", stream=io.StringIO())
    written = json.loads((tmp_path / "out" / "report.json").read_text())
    assert written == json.loads(json.dumps(built))
    merged = written["targets"]["merged"]
    assert merged["totals"] == {"passed": 2, "failed": 1, "xfailed": 1, "xpassed": 0,
                                "skipped": 1, "error": 0}
    assert merged["areas"]["client-server/joining"]["failed"] == 1
    assert report.exit_status(written) == 1
    assert (tmp_path / "out" / "report.md").read_text().startswith("# Matrix conformance")


def test_merge_groups_named_files_by_target(tmp_path):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(LINES[0] + "\n")
    bad.write_text(LINES[2] + "\n")
    built = merge([f"synapse={good}", f"conduit={bad}"], out=tmp_path, stream=io.StringIO())
    assert built["targets"]["synapse"]["ok"] and not built["targets"]["conduit"]["ok"]
