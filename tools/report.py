# SPDX-License-Identifier: Apache-2.0
"""Turns results lines into per-area tables, a JSON report and a Markdown report.

Pure functions only: no subprocesses, no clocks, no files except `read_results`. The
runner, the `merge` command and the unit tests all go through the same code, so a
report built from CI shards reads exactly like one built from a local run.

A results line, written by the pytest plugin for each test, is a JSON object:
    {"nodeid": str, "area": str, "outcome": one of OUTCOMES, "duration": float,
     "spec": [str, ...], "operations": [operationId, ...], "message": str}
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tools.coverage import coverage_lines

JsonDict = dict[str, Any]

OUTCOMES = ("passed", "failed", "xfailed", "xpassed", "skipped", "error")
# Outcomes that make a target fail: xpassed too, since expectations are strict xfails.
BAD_OUTCOMES = ("failed", "error", "xpassed")
HEADERS = ("area", "passed", "failed", "xfailed", "xpassed", "skipped", "errors")
# When a test appears twice (a teardown error after a pass, overlapping CI shards), the
# worse outcome wins so that merging can never hide a failure.
_SEVERITY = {"skipped": 0, "xfailed": 1, "passed": 2, "xpassed": 3, "failed": 4, "error": 5}
# pytest exit statuses that mean "the run itself worked": all passed, tests failed,
# nothing collected. Anything else (interrupted, internal error, usage error) is a
# broken run whose results file cannot be trusted to be complete.
COMPLETE_RUN_STATUSES = (0, 1, 5)


def parse_results(lines: Iterable[str]) -> list[JsonDict]:
    """Results from JSON lines, in any order, skipping blank or unreadable lines.

    Unreadable lines are tolerated because the file is tailed while workers append to
    it; a line is only trusted once it parses as an object with a nodeid.
    """
    results = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and isinstance(result.get("nodeid"), str):
            results.append(result)
    return results


def read_results(path: Path) -> list[JsonDict]:
    """Every result in a results file; a missing file means no test reported yet."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return parse_results(text.splitlines())


def outcome_of(result: Mapping[str, Any]) -> str:
    """The outcome, with anything outside the contract counted as an error (loudly)."""
    outcome = result.get("outcome")
    return outcome if outcome in OUTCOMES else "error"


def dedupe(results: Iterable[JsonDict]) -> list[JsonDict]:
    """One result per nodeid, keeping the worst outcome, sorted by nodeid."""
    chosen: dict[str, JsonDict] = {}
    for result in results:
        previous = chosen.get(result["nodeid"])
        if previous is None or _SEVERITY[outcome_of(result)] > _SEVERITY[outcome_of(previous)]:
            chosen[result["nodeid"]] = result
    return [chosen[nodeid] for nodeid in sorted(chosen)]


def empty_counts() -> dict[str, int]:
    return {outcome: 0 for outcome in OUTCOMES}


def count_by_area(results: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Outcome counts per area, areas sorted by name."""
    areas: dict[str, dict[str, int]] = {}
    for result in results:
        area = str(result.get("area") or "unknown")
        areas.setdefault(area, empty_counts())[outcome_of(result)] += 1
    return {area: areas[area] for area in sorted(areas)}


def sum_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total = empty_counts()
    for row in counts:
        for outcome in OUTCOMES:
            total[outcome] += row.get(outcome, 0)
    return total


def failures(results: Iterable[Mapping[str, Any]]) -> list[JsonDict]:
    """The tests that make a target fail, each with the first line of its message."""
    found = []
    for result in results:
        outcome = outcome_of(result)
        if outcome not in BAD_OUTCOMES:
            continue
        message = (str(result.get("message") or "").strip().splitlines() or [""])[0]
        if not message and outcome == "xpassed":
            message = "passed although listed in the expectations file; remove the entry"
        found.append({
            "nodeid": result["nodeid"],
            "area": str(result.get("area") or "unknown"),
            "outcome": outcome,
            "message": message,
            "spec": list(result.get("spec") or []),
        })
    return sorted(found, key=lambda failure: failure["nodeid"])


def run_problems(exit_status: int | None, counts: Mapping[str, int], log: str = "") -> list[str]:
    """What the pytest exit status says that the results file does not."""
    see = f"; see {log}" if log else ""
    if exit_status is None or exit_status in (0, 5):
        return []
    if exit_status == 1:
        if any(counts[outcome] for outcome in BAD_OUTCOMES):
            return []
        return [f"pytest reported failures missing from the results (collection errors?){see}"]
    return [f"pytest exited with status {exit_status} (run broken or incomplete){see}"]


def summarize_target(
    results: Iterable[JsonDict],
    *,
    coverage: JsonDict | None = None,
    exit_status: int | None = None,
    log: str = "",
) -> JsonDict:
    """Everything the report says about one target; `log` is where pytest's output went."""
    results = dedupe(results)
    areas = count_by_area(results)
    totals = sum_counts(areas.values())
    problems = run_problems(exit_status, totals, log)
    bad = any(totals[outcome] for outcome in BAD_OUTCOMES)
    return {
        "ok": not bad and not problems,
        "exit_status": exit_status,
        "areas": areas,
        "totals": totals,
        "coverage": coverage,
        "failures": failures(results),
        "problems": problems,
    }


def build_report(targets: Mapping[str, JsonDict]) -> JsonDict:
    """The whole report: target name → summary, plus the overall verdict."""
    return {"ok": all(t["ok"] for t in targets.values()), "targets": dict(targets)}


def exit_status(report: Mapping[str, Any]) -> int:
    """0 iff no target has failed, errored or unexpectedly passing tests."""
    return 0 if report["ok"] else 1


def table_rows(areas: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """The per-area table: a header, one row per area (sorted), then the totals."""
    rows = [list(HEADERS)]
    for area in sorted(areas):
        rows.append([area] + [str(areas[area][outcome]) for outcome in OUTCOMES])
    totals = sum_counts(areas.values())
    rows.append(["total"] + [str(totals[outcome]) for outcome in OUTCOMES])
    return rows


def format_table(rows: list[list[str]]) -> str:
    """Aligned plain text: area left-aligned, counts right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def render_text(report: Mapping[str, Any]) -> str:
    """The console summary printed at the end of a run."""
    out: list[str] = []
    for name, target in report["targets"].items():
        verdict = "OK" if target["ok"] else "FAILED"
        out += ["", f"== {name}: {verdict}", format_table(table_rows(target["areas"]))]
        out += coverage_lines(target["coverage"])
        out += [f"problem: {problem}" for problem in target["problems"]]
        if target["failures"]:
            out.append(f"{len(target['failures'])} failing:")
            out += [_failure_line(failure) for failure in target["failures"]]
    return "\n".join(out).lstrip("\n") + "\n"


def _failure_line(failure: Mapping[str, Any]) -> str:
    message = f" - {failure['message']}" if failure["message"] else ""
    return f"  {failure['outcome'].upper()} {failure['nodeid']}{message}"


def render_markdown(report: Mapping[str, Any]) -> str:
    """The same content as `render_text`, as Markdown for CI summaries and PRs."""
    out = ["# Matrix conformance report", ""]
    for name, target in report["targets"].items():
        verdict = "passed" if target["ok"] else "**failed**"
        out += [f"## {_md(name)}: {verdict}", ""]
        out += _markdown_table(table_rows(target["areas"]))
        out += [""] + [f"- {_md(line.strip())}" for line in coverage_lines(target["coverage"])]
        out += [f"- problem: {_md(problem)}" for problem in target["problems"]]
        if target["failures"]:
            out += ["", "### Failing tests", ""]
            out += [f"- {failure['outcome']} `{failure['nodeid']}`"
                    + (f": {_md(failure['message'])}" if failure["message"] else "")
                    for failure in target["failures"]]
        out.append("")
    return "\n".join(out)


def _markdown_table(rows: list[list[str]]) -> list[str]:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for row in body[:-1]:
        lines.append("| " + " | ".join([_md(row[0])] + row[1:]) + " |")
    totals = body[-1]
    lines.append("| " + " | ".join(f"**{cell}**" for cell in totals) + " |")
    return lines


def _md(text: str) -> str:
    """Escape what would break a Markdown table cell or list item."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def progress_line(name: str, counts: Mapping[str, int], total: int | None) -> str:
    """`target  123/456 passed 120 failed 2 ...` for the live display."""
    done = sum(counts.values())
    shown = ["passed", "failed"] + [o for o in OUTCOMES[2:] if counts.get(o)]
    parts = [f"{o if o != 'error' else 'errors'} {counts.get(o, 0)}" for o in shown]
    return f"{name}  {done}/{total if total is not None else '?'} " + " ".join(parts)
