# SPDX-License-Identifier: Apache-2.0
"""The runner's subprocess plumbing, end to end, against a fake suite (no server needed).

The fake suite's conftest stands in for the real plugin: it takes the same options and
appends one contract-shaped results line per test from each xdist worker.
"""
from __future__ import annotations

import io
import json
import re
import textwrap

import pytest

from tools.conformance import Options, Target, plan_targets, pytest_command, run_suite, \
    slug_for

FAKE_PLUGIN = textwrap.dedent('''
    import json, os

    def pytest_addoption(parser):
        for option in ("--results", "--server-url", "--server-name", "--expectations"):
            parser.addoption(option)

    def pytest_configure(config):
        global CONFIG
        CONFIG = config

    def pytest_runtest_logreport(report):
        if not os.environ.get("PYTEST_XDIST_WORKER"):
            return  # workers write, as the real plugin does under xdist
        if report.when != "call" and not (report.failed or report.skipped):
            return
        outcome = "error" if report.failed and report.when != "call" else report.outcome
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        message = report.longrepr.reprcrash.message if report.failed else ""
        line = {"nodeid": report.nodeid, "area": "client-server/fake", "outcome": outcome,
                "duration": report.duration, "spec": [], "operations": ["getVersions"],
                "message": message}
        with open(CONFIG.getoption("--results"), "a", encoding="utf-8") as results:
            results.write(json.dumps(line) + "\\n")
''')

FAKE_TESTS = textwrap.dedent('''
    import pytest

    def test_target_url_reaches_the_plugin(request):
        assert request.config.getoption("--server-url").startswith("http://")

    def test_fails():
        assert 1 == 2, "the server said no"

    @pytest.mark.skip(reason="not advertised")
    def test_skipped():
        pass

    @pytest.mark.xfail(strict=True, reason="known failure")
    def test_known_failure():
        assert False
''')


@pytest.fixture
def fake_suite(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(FAKE_PLUGIN)
    (suite / "test_fake.py").write_text(FAKE_TESTS)
    return suite


def test_targets_run_in_parallel_and_each_gets_its_own_report(fake_suite, tmp_path):
    out, stream = tmp_path / "reports", io.StringIO()
    targets = plan_targets(["http://hs1.test:8008", "http://hs2.test"], ["example.org"])
    built = run_suite(targets, [fake_suite], out=out, options=Options(workers="2"),
                      stream=stream, refresh=0.05)

    assert set(built["targets"]) == {"http://hs1.test:8008", "http://hs2.test"}
    for target in targets:
        summary = built["targets"][target.name]
        assert summary["totals"] == {"passed": 1, "failed": 1, "xfailed": 1, "xpassed": 0,
                                     "skipped": 1, "error": 0}
        assert summary["exit_status"] == 1 and not summary["ok"]
        assert [f["nodeid"].split("::")[1] for f in summary["failures"]] == ["test_fails"]
        assert (out / target.slug / "junit.xml").is_file()
        assert len((out / target.slug / "results.jsonl").read_text().splitlines()) == 4
    assert json.loads((out / "report.json").read_text())["ok"] is False
    assert "| client-server/fake | 1 | 1 | 1 | 0 | 1 | 0 |" in (out / "report.md").read_text()
    printed = stream.getvalue()
    assert "http://hs1.test:8008  4/" in printed and "passed 1 failed 1" in printed
    # The node ID is relative to whichever rootdir pytest picks (it depends on the cwd).
    assert re.search(r"FAILED \S*test_fake\.py::test_fails - AssertionError: the server said no",
                     printed), printed


def test_a_broken_pytest_run_fails_the_target_even_without_failed_results(fake_suite, tmp_path):
    built = run_suite([Target("reference", "reference")], [fake_suite], out=tmp_path,
                      options=Options(workers="0", extra_args=["--no-such-option"]),
                      stream=io.StringIO(), refresh=0.05)
    summary = built["targets"]["reference"]
    assert summary["exit_status"] == 4 and not summary["ok"]
    assert "status 4" in summary["problems"][0]


@pytest.mark.parametrize("url, slug", [
    pytest.param("http://localhost:8008", "localhost_8008", id="host-and-port"),
    pytest.param("https://matrix.example.org/", "matrix.example.org", id="trailing-slash"),
])
def test_target_directories_are_named_after_the_url(url, slug):
    assert slug_for(url) == slug


def test_the_same_url_twice_gets_two_directories():
    slugs = [t.slug for t in plan_targets(["http://a:1", "http://a:1"], [])]
    assert slugs == ["a_1", "a_1-2"]


def test_the_second_server_is_passed_to_every_targets_run(tmp_path):
    options = Options(second_server_url="http://127.0.0.1:9")
    for target in plan_targets(["http://a.test", "http://b.test"], []):
        command = pytest_command(target, [tmp_path], tmp_path, options)
        assert command[command.index("--second-server-url") + 1] == "http://127.0.0.1:9"
    assert "--second-server-url" not in pytest_command(
        plan_targets([], [])[0], [tmp_path], tmp_path, Options())
