# SPDX-License-Identifier: Apache-2.0
"""One JSON line per test for `--results`, the file `tools/` turns into reports.

    {"nodeid": str, "area": str, "outcome": "passed"|"failed"|"xfailed"|"xpassed"|
     "skipped"|"error", "duration": float, "spec": [str], "operations": [operationId],
     "message": str}

plus `"unknown": ["METHOD /path", ...]` when the test hit paths outside `api/`.
xdist workers append to the same file, so each line is written with a single
`os.write` on an `O_APPEND` descriptor: lines never interleave.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any

JsonDict = dict[str, Any]
# The suite's folders and the `api/` family each one exercises.
FAMILY_OF_DIRECTORY = {
    "client_server": "client-server",
    "federation": "server-server",
    "appservice": "application-service",
}


def outcome_of(reports: Sequence[Any]) -> str:
    """The test's outcome from its setup/call/teardown reports, as the results file names it."""
    for report in reports:
        if report.when != "call" and report.failed:
            return "error"
    for report in reports:
        if report.skipped:
            return "xfailed" if hasattr(report, "wasxfail") else "skipped"
        if report.when == "call":
            if report.failed:
                return "xpassed" if _is_strict_xpass(report) else "failed"
            # A pass under a non-strict ([flaky]) expectation is a pass: only strict
            # xpasses (which pytest reports as failures) fail a run.
            return "passed"
    return "error"  # no call and no skip: the test never ran


def _is_strict_xpass(report: Any) -> bool:
    return isinstance(report.longrepr, str) and report.longrepr.startswith("[XPASS(strict)]")


def message_of(reports: Sequence[Any]) -> str:
    """The first line of the reason for a non-pass: failure, skip or xfail."""
    for report in reports:
        if report.failed or report.skipped:
            return _first_line(_reason_text(report))
        if hasattr(report, "wasxfail") and report.when == "call":
            return _first_line(f"XPASS {report.wasxfail}")
    return ""


def _reason_text(report: Any) -> str:
    if hasattr(report, "wasxfail"):
        return str(report.wasxfail)
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).removeprefix("Failed: ")
    return str(longrepr or "")


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def spec_refs(docstring: str | None) -> list[str]:
    """The `Spec:` paragraphs of a test's docstring, without the label, one line each.

    A reference often wraps onto the next lines (the anchor, then the MUST it cites);
    the paragraph runs to a blank line or the next `Spec:`.
    """
    refs: list[str] = []
    current: list[str] | None = None
    for line in (docstring or "").splitlines():
        line = line.strip()
        if line.startswith("Spec:"):
            current = [line[len("Spec:"):].strip()]
            refs.append("")
        elif not line:
            current = None
        elif current is not None:
            current.append(line)
        if current is not None:
            refs[-1] = " ".join(part for part in current if part)
    return refs


def area_of(module_path: str, features: Iterable[str], known: Iterable[str]) -> str:
    """The `api/` feature a test belongs to, for the per-area tables.

    The module's name comes first when it names a feature of `api/` (tests are named
    after the document they exercise); otherwise the feature the test's requests hit
    most, since counting requests alone would credit registration, which every
    scenario begins with; then the name the module suggests; then its folder's family.
    """
    parts = PurePosixPath(module_path).parts
    family = next((FAMILY_OF_DIRECTORY[p] for p in parts if p in FAMILY_OF_DIRECTORY), None)
    stem = PurePosixPath(module_path).stem.removeprefix("test_")
    named = f"{family}/{stem}" if family and stem else None
    if named and named in set(known):
        return named
    counts = Counter(features)
    if counts:
        return counts.most_common(1)[0][0]  # ties: the first seen
    return named or family or (parts[0] if len(parts) > 1 else "unknown")


def result_line(*, nodeid: str, area: str, outcome: str, duration: float,
                spec: list[str], operations: list[str], message: str,
                unknown: list[str] | None = None) -> str:
    """One results line, newline included."""
    record: JsonDict = {
        "nodeid": nodeid, "area": area, "outcome": outcome,
        "duration": round(duration, 4), "spec": spec, "operations": operations,
        "message": message,
    }
    if unknown:
        record["unknown"] = sorted(set(unknown))
    return json.dumps(record, ensure_ascii=False) + "\n"


class ResultsFile:
    """An append-only results file shared by every process of the run."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, line: str) -> None:
        assert self._fd is not None, "results file already closed"
        data = line.encode("utf-8")
        written = os.write(self._fd, data)
        if written != len(data):  # only on a full disk; better loud than a torn line
            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
