# SPDX-License-Identifier: Apache-2.0
"""API coverage: which operations in `api/` the suite actually exercised.

The harness records the operationId of every response it validated, so coverage is a
measurement, not a claim: an operation counts only if some test called it and the answer
was checked against its schema. This module compares that set with `api/`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from api import FAMILIES, Operation

JsonDict = dict[str, Any]


def exercised_operations(results: Iterable[Mapping[str, Any]]) -> set[str]:
    """The union of the `operations` lists of all results lines."""
    seen: set[str] = set()
    for result in results:
        seen.update(op for op in result.get("operations") or () if isinstance(op, str))
    return seen


def load_api_operations() -> tuple[Sequence[Operation] | None, str]:
    """All operations in `api/`, or None and the reason it could not be read.

    A broken document must not cost the user the test results of a long run, so the
    report says coverage is unavailable instead of crashing at the very end.
    """
    try:
        from api import load_operations

        return load_operations(), ""
    except Exception as error:  # noqa: BLE001 - any failure only disables coverage
        return None, f"{type(error).__name__}: {error}".splitlines()[0]


def _ratio(exercised: int, total: int) -> JsonDict:
    percent = round(100.0 * exercised / total, 1) if total else 0.0
    return {"exercised": exercised, "total": total, "percent": percent}


def measure(exercised: Iterable[str], operations: Sequence[Operation]) -> JsonDict:
    """Coverage overall and per family (client-server, server-server, application-service).

    `unknown` lists operationIds that tests reported but `api/` does not define: a sign
    that the harness and the documents have drifted apart.
    """
    exercised = set(exercised)
    defined = {op.operation_id for op in operations}
    families = {}
    for family in FAMILIES:
        ids = {op.operation_id for op in operations if op.family == family}
        families[family] = _ratio(len(ids & exercised), len(ids))
    return {
        **_ratio(len(defined & exercised), len(defined)),
        "families": families,
        "unexercised": sorted(defined - exercised),
        "unknown": sorted(exercised - defined),
    }


def coverage_for(results: Iterable[Mapping[str, Any]]) -> JsonDict:
    """`measure` against the real `api/`, or an `error` entry when it cannot be loaded."""
    operations, error = load_api_operations()
    if operations is None:
        return {"error": error}
    return measure(exercised_operations(results), operations)


def coverage_lines(coverage: Mapping[str, Any] | None) -> list[str]:
    """Human-readable lines: the overall figure first, then one line per family."""
    if not coverage:
        return []
    if "error" in coverage:
        return [f"API coverage: unavailable ({coverage['error']})"]
    lines = [f"API coverage: {_phrase(coverage)}"]
    for family, ratio in coverage["families"].items():
        lines.append(f"  {family}: {_phrase(ratio)}")
    if coverage.get("unknown"):
        lines.append(f"  not in api/: {', '.join(coverage['unknown'])}")
    return lines


def _phrase(ratio: Mapping[str, Any]) -> str:
    return (
        f"{ratio['exercised']} of {ratio['total']} operations exercised "
        f"({ratio['percent']:.1f}%)"
    )
