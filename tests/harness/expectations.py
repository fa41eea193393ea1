# SPDX-License-Identifier: Apache-2.0
"""Known failures of a target, as data: an expectations file applied as strict xfail.

Each line names tests and says why they fail, with the spec's words:

    tests/client_server/test_joining.py::test_join_by_alias   # 1.11 §joining: ... (issue #12)
    tests/client_server/test_typing.py                        # typing not implemented
    tests/federation/*::test_*_v12                            # room v12 unsupported

A pattern is an exact node ID, a prefix of one at a `/`, `::` or `[` boundary (a
directory, a module, a test with all its parameters), or a glob where `*` and `?` are
wildcards (brackets stay literal: they appear in parametrised IDs). Strict xfail means a
test that starts passing fails the run, so the file cannot silently rot.

A reason that starts with `[flaky]` records a deviation the target shows only some of
the time (its own caching or timing): such a test may pass or fail without failing the
run. Use it only with evidence of both outcomes, and say what varies.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SEPARATOR = re.compile(r"\s+#\s?")


class ExpectationsError(ValueError):
    """A malformed expectations file; the message names the line."""


@dataclass(frozen=True)
class Expectation:
    pattern: str
    reason: str
    line: int

    @property
    def flaky(self) -> bool:
        return self.reason.startswith("[flaky]")

    def matches(self, nodeid: str) -> bool:
        if "*" in self.pattern or "?" in self.pattern:
            return bool(_glob(self.pattern).match(nodeid))
        if nodeid == self.pattern:
            return True
        if not nodeid.startswith(self.pattern):
            return False
        return self.pattern.endswith("/") or nodeid[len(self.pattern)] in "/:["


def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def parse(lines: Iterable[str], *, source: str = "expectations") -> list[Expectation]:
    """Expectations from text lines; blank lines and `#` comment lines are skipped."""
    found = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, *rest = _SEPARATOR.split(line, maxsplit=1)
        reason = rest[0].strip() if rest else ""
        if not reason:
            raise ExpectationsError(
                f"{source}:{number}: {pattern!r} has no reason; write "
                f"'<test id>  # why it fails, citing the spec'")
        if re.search(r"\s", pattern):
            raise ExpectationsError(f"{source}:{number}: a test ID cannot contain spaces: "
                                    f"{pattern!r}")
        found.append(Expectation(pattern, reason, number))
    return found


def load(path: Path | str) -> list[Expectation]:
    """One expectations file, or every `*.txt` file of a directory (one file per area)."""
    path = Path(path)
    if path.is_dir():
        return [e for file in sorted(path.glob("*.txt")) for e in load(file)]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ExpectationsError(f"cannot read expectations file {path}: {error}") from error
    return parse(text.splitlines(), source=str(path))


def match(expectations: Iterable[Expectation], nodeid: str) -> Expectation | None:
    """The first expectation naming this test, in file order."""
    return next((e for e in expectations if e.matches(nodeid)), None)
