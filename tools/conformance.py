# SPDX-License-Identifier: Apache-2.0
"""`matrix-conformance`: run the suite against one or more homeservers and report.

Each target gets its own pytest process (xdist inside it), all started at once, because
targets are independent and a slow server should not hold up the others. The pytest
plugin writes one JSON line per test to `--results`; this tool tails those files for a
live display and, at the end, turns them into the tables and files of `tools.report`.

    matrix-conformance [--server-url URL ...] [--server-name NAME ...]
                       [--second-server-url URL] [--expectations FILE]
                       [--areas client_server,federation,appservice]
                       [-n auto|N] [--out DIR] [--keep-going] [-- extra pytest args]
    matrix-conformance merge [--out DIR] [NAME=]FILE ...
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tools import report
from tools.coverage import coverage_for

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AREAS = ("client_server", "federation", "appservice")
REFERENCE = "reference"
SYNAPSE_EXPECTATIONS = PROJECT_ROOT / "tests" / "expectations" / "synapse"
# Environment left by an enclosing pytest run (e.g. these tools' own tests under xdist)
# would confuse the child's plugins into thinking they are xdist workers.
_INHERITED_PYTEST_STATE = ("PYTEST_XDIST_", "PYTEST_CURRENT_TEST")


@dataclass(frozen=True)
class Target:
    """One homeserver under test; `url` None means the embedded reference server."""

    name: str
    slug: str
    url: str | None = None
    server_name: str | None = None
    expectations: Path | None = None  # overrides Options.expectations for this target
    target_args: tuple[str, ...] = ()  # extra pytest options for this target only


@dataclass(frozen=True)
class Options:
    """How every target's pytest runs: the same for all targets, so results compare."""

    workers: str = "auto"  # xdist -n: auto, logical or a number
    expectations: Path | None = None
    keep_going: bool = False
    extra_args: Sequence[str] = ()
    second_server_url: str | None = None  # hs2 of the two-server tests, for every target


@dataclass
class Tail:
    """Reads the complete lines appended to a results file since the last poll."""

    path: Path
    counts: dict[str, int] = field(default_factory=report.empty_counts)
    _offset: int = 0
    _partial: bytes = b""

    def poll(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        for result in report.parse_results(line.decode("utf-8", "replace") for line in lines):
            self.counts[report.outcome_of(result)] += 1


def slug_for(url: str) -> str:
    """A directory name for a target: the URL without scheme, unsafe characters as `_`."""
    bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip(), flags=re.IGNORECASE)
    return re.sub(r"[^A-Za-z0-9.-]+", "_", bare).strip("_.") or "target"


def plan_targets(urls: Sequence[str], names: Sequence[str]) -> list[Target]:
    """Targets from the repeated options; one --server-name applies to every URL."""
    if not urls:
        return [Target(REFERENCE, REFERENCE, None, names[0] if names else None)]
    if len(names) not in (0, 1, len(urls)):
        raise SystemExit("give --server-name once, or once per --server-url")
    paired = list(names) * len(urls) if len(names) == 1 else list(names) or [None] * len(urls)
    targets, used = [], set()
    for url, server_name in zip(urls, paired):
        slug, n = slug_for(url), 2
        while slug in used:
            slug, n = f"{slug_for(url)}-{n}", n + 1
        used.add(slug)
        targets.append(Target(url, slug, url, server_name))
    return targets


def pytest_command(target: Target, test_paths: Sequence[Path], target_dir: Path,
                   options: Options) -> list[str]:
    """The pytest invocation for one target (the plugin's options, see DESIGN.md)."""
    command = [sys.executable, "-m", "pytest", *map(str, test_paths), "-p", "xdist",
               "-n", options.workers, "--results", str(target_dir / "results.jsonl"),
               "--junitxml", str(target_dir / "junit.xml"), "-q"]
    if target.url:
        command += ["--server-url", target.url]
    if target.server_name:
        command += ["--server-name", target.server_name]
    if options.second_server_url:
        command += ["--second-server-url", options.second_server_url]
    expectations = target.expectations or options.expectations
    if expectations:
        command += ["--expectations", str(expectations)]
    if options.keep_going:
        command.append("--continue-on-collection-errors")
    return command + list(target.target_args) + list(options.extra_args)


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PYTEST_STATE)}


class Collector:
    """Counts the tests with `pytest --collect-only -q`, alongside the real runs.

    It runs concurrently so that a slow collection never delays the tests; until it
    finishes the display shows `?` as the total.
    """

    def __init__(self, test_paths: Sequence[Path], extra_args: Sequence[str], out: Path):
        self._output = out / "collect.txt"
        with self._output.open("wb") as sink:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "pytest", "--collect-only", "-q",
                 *map(str, test_paths), *extra_args],
                stdout=sink, stderr=subprocess.STDOUT, env=child_env())
        self.total: int | None = None

    def poll(self) -> int | None:
        if self.total is None and self._process.poll() == 0:
            text = self._output.read_text(encoding="utf-8", errors="replace")
            self.total = sum(1 for line in text.splitlines() if "::" in line)
        return self.total

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


class Display:
    """The live progress block: rewritten in place on a terminal, periodic lines otherwise."""

    def __init__(self, stream: IO[str], *, every: float = 10.0):
        self._stream = stream
        self._tty = stream.isatty()
        self._every = every
        self._drawn = 0
        self._last: tuple[float, list[str]] = (0.0, [])

    def update(self, lines: list[str], *, final: bool = False) -> None:
        if self._tty:
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self._stream.write(up + "".join(f"\r\x1b[K{line}\n" for line in lines))
            self._drawn = len(lines)
        elif final or (lines != self._last[1] and time.monotonic() - self._last[0] >= self._every):
            self._stream.write("".join(f"{line}\n" for line in lines))
            self._last = (time.monotonic(), lines)
        self._stream.flush()


@dataclass
class Run:
    target: Target
    directory: Path
    process: subprocess.Popen[bytes]
    tail: Tail


def start_run(target: Target, test_paths: Sequence[Path], out: Path, options: Options) -> Run:
    """Start one target's pytest, its output going to `<out>/<slug>/pytest.log`."""
    directory = out / target.slug
    directory.mkdir(parents=True, exist_ok=True)
    results = directory / "results.jsonl"
    results.unlink(missing_ok=True)  # the plugin appends; stale lines would be counted
    with (directory / "pytest.log").open("wb") as log:
        process = subprocess.Popen(pytest_command(target, test_paths, directory, options),
                                   stdout=log, stderr=subprocess.STDOUT, env=child_env())
    return Run(target, directory, process, Tail(results))


def watch(runs: list[Run], collector: Collector, display: Display, *,
          keep_going: bool, refresh: float) -> None:
    """Refresh the display until every run ends; stop the rest if one breaks."""
    while True:
        statuses = [run.process.poll() for run in runs]  # before reading: no line missed
        for run in runs:
            run.tail.poll()
        lines = [report.progress_line(r.target.name, r.tail.counts, collector.poll())
                 for r in runs]
        done = None not in statuses
        display.update(lines, final=done)
        if done:
            return
        if not keep_going and any(s not in (None, *report.COMPLETE_RUN_STATUSES)
                                  for s in statuses):
            stop(runs)
        time.sleep(refresh)


def stop(runs: list[Run]) -> None:
    """Terminate the pytest processes this tool started that are still running."""
    for run in runs:
        if run.process.poll() is None:
            run.process.terminate()
    for run in runs:
        run.process.wait()


def run_suite(targets: Sequence[Target], test_paths: Sequence[Path], *, out: Path,
              options: Options = Options(), stream: IO[str] | None = None,
              refresh: float = 0.5) -> dict[str, Any]:
    """Run the tests at `test_paths` against every target at once; write and print the report.

    Taking the test paths (rather than the areas) lets the unit tests drive the whole
    plumbing with a fake suite and no server.
    """
    stream = stream or sys.stdout
    out.mkdir(parents=True, exist_ok=True)
    collector = Collector(test_paths, options.extra_args, out)
    runs = [start_run(target, test_paths, out, options) for target in targets]
    try:
        watch(runs, collector, Display(stream), keep_going=options.keep_going, refresh=refresh)
    finally:
        stop(runs)
        collector.stop()
    summaries = {}
    for run in runs:
        results = report.read_results(run.directory / "results.jsonl")
        summaries[run.target.name] = report.summarize_target(
            results, coverage=coverage_for(results), exit_status=run.process.returncode,
            log=str(run.directory / "pytest.log"))
    return publish(report.build_report(summaries), out, stream)


def publish(built: dict[str, Any], out: Path, stream: IO[str]) -> dict[str, Any]:
    """Write report.json and report.md under `out`, and print the text summary."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(built, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(report.render_markdown(built), encoding="utf-8")
    stream.write(report.render_text(built))
    stream.write(f"Reports written to {out}/report.json and {out}/report.md\n")
    return built


def merge(files: Sequence[str], *, out: Path, stream: IO[str] | None = None) -> dict[str, Any]:
    """One report from the results files of CI matrix jobs.

    A plain FILE joins the target "merged"; NAME=FILE joins target NAME, so shards of
    several servers can be merged in one call.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for spec in files:
        name, sep, path = spec.partition("=")
        name, path = (name, path) if sep and not Path(spec).exists() else ("merged", spec)
        if not Path(path).is_file():
            raise SystemExit(f"no such results file: {path}")
        grouped.setdefault(name, []).extend(report.read_results(Path(path)))
    summaries = {name: report.summarize_target(results, coverage=coverage_for(results))
                 for name, results in grouped.items()}
    return publish(report.build_report(summaries), out, stream or sys.stdout)


def area_paths(areas: str) -> list[Path]:
    names = [a.strip() for a in areas.split(",") if a.strip()]
    unknown = sorted(set(names) - set(AREAS))
    if unknown or not names:
        raise SystemExit(f"unknown --areas {unknown}; choose from {','.join(AREAS)}")
    return [PROJECT_ROOT / "tests" / name for name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="matrix-conformance", epilog="Arguments after `--` go to pytest. "
        "`matrix-conformance merge [--out DIR] [NAME=]FILE...` merges results files.")
    add = parser.add_argument
    add("--server-url", action="append", default=[], metavar="URL",
        help="a target's client-server URL (repeatable; none: the reference server)")
    add("--server-name", action="append", default=[], metavar="NAME",
        help="the target's server name (once for all targets, or once per URL)")
    add("--second-server-url", metavar="URL",
        help="the second homeserver of the two-server tests, federating with every target "
        "(none: beside the embedded reference server the suite starts a second one; other "
        "targets skip those tests)")
    add("--expectations", type=Path, metavar="FILE", help="known failures (strict xfail)")
    add("--areas", default=",".join(AREAS), help="comma-separated test areas (default: all)")
    add("-n", dest="workers", default="auto", help="xdist workers per target (default: auto)")
    add("--out", type=Path, default=Path("reports"), help="report directory (./reports)")
    add("--synapse", action="store_true",
        help="also start a Synapse from PyPI (tools.synapse_target) and test it, beside "
        "the reference server unless --server-url is given")
    add("--synapse-expectations", type=Path, default=SYNAPSE_EXPECTATIONS, metavar="FILE",
        help="known Synapse deviations (default: tests/expectations/synapse/, one file per area)")
    add("--skip-reference", action="store_true",
        help="do not run the embedded reference server (e.g. with --synapse alone)")
    add("--keep-going", action="store_true", help="continue past collection errors and "
        "keep the other targets running when one target's run breaks")
    return parser


def merge_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matrix-conformance merge",
                                     description="Merge results.jsonl files into one report.")
    parser.add_argument("files", nargs="+", metavar="[NAME=]FILE")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; the exit status is the verdict."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["merge"]:
        args = merge_parser().parse_args(argv[1:])
        return report.exit_status(merge(args.files, out=args.out.resolve()))
    cut = argv.index("--") if "--" in argv else len(argv)
    args = build_parser().parse_args(argv[:cut])
    if not re.fullmatch(r"auto|logical|\d+", args.workers):
        raise SystemExit("-n takes auto, logical or a number")
    options = Options(args.workers, args.expectations.resolve() if args.expectations else None,
                      args.keep_going, argv[cut + 1:], args.second_server_url)
    targets = plan_targets(args.server_url, args.server_name)
    if args.skip_reference:
        targets = [t for t in targets if t.url is not None]
    with contextlib.ExitStack() as stack:
        if args.synapse:
            targets.append(start_managed_synapse(stack, args.out.resolve(),
                                                 args.synapse_expectations.resolve()))
        try:
            built = run_suite(targets, area_paths(args.areas), out=args.out.resolve(),
                              options=options)
        except KeyboardInterrupt:
            return 130
    return report.exit_status(built)


def start_managed_synapse(stack: contextlib.ExitStack, out: Path, expectations: Path) -> Target:
    """A Synapse configured for the suite, stopped when the run ends."""
    from tools.synapse_target import start_synapse

    from tools.appservice_registration import write_registration
    from tools.synapse_target import free_port

    data_dir = out / "synapse-data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    # The suite's application service: Synapse loads the registration, the suite serves it.
    registration = data_dir / "appservice.yaml"
    write_registration(registration, url=f"http://127.0.0.1:{free_port()}")
    # The fake peers' CA, made now so Synapse can verify their certificates; the suite
    # finds it through the same environment variable.
    from tests.harness.federation_tls import PeerCA
    from tests.harness.plugin import PEER_CA_ENV

    peer_ca = PeerCA.open(os.environ.get(PEER_CA_ENV) or out / "peer-ca")
    os.environ[PEER_CA_ENV] = str(peer_ca.directory)
    print("starting Synapse (first use installs it into .venv-synapse/) ...", flush=True)
    handle = stack.enter_context(start_synapse(data_dir / "synapse",
                                               appservice_files=[registration],
                                               peer_ca=peer_ca.pem_path))
    return Target("synapse", "synapse", handle.client_url, None, expectations,
                  ("--appservice-registration", str(registration),
                   "--federation-url", handle.federation_url))


if __name__ == "__main__":
    sys.exit(main())
