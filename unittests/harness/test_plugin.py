# SPDX-License-Identifier: Apache-2.0
"""The plugin's pure parts: expectations, results lines, requirements, user names."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.harness import expectations, requirements, results
from tests.harness.homeserver import Localparts, RegistrationMode, make_localpart
from tests.harness.server import parse_listening_line

# -- expectations ----------------------------------------------------------------------

EXAMPLE = """\
# known failures of some server

tests/client_server/test_joining.py::test_join_by_alias   # spec 1.11 joining: MUST resolve
tests/client_server/test_typing.py  # typing not implemented
tests/federation/  # no federation yet
tests/client_server/test_alias.py::test_bad[#nocolon]  # brackets are literal
tests/client_server/test_rooms.py::test_*_v12  # room version 12 unsupported
"""


def test_expectations_skip_blank_lines_and_comments():
    found = expectations.parse(EXAMPLE.splitlines())
    assert [e.line for e in found] == [3, 4, 5, 6, 7]
    assert found[0].reason == "spec 1.11 joining: MUST resolve"


@pytest.mark.parametrize(
    ("nodeid", "reason"),
    [
        pytest.param("tests/client_server/test_joining.py::test_join_by_alias",
                     "spec 1.11 joining: MUST resolve", id="exact"),
        pytest.param("tests/client_server/test_joining.py::test_join_by_alias[v1]",
                     "spec 1.11 joining: MUST resolve", id="every-parameter-of-a-test"),
        pytest.param("tests/client_server/test_typing.py::test_stop",
                     "typing not implemented", id="whole-module"),
        pytest.param("tests/federation/test_keys.py::test_x", "no federation yet",
                     id="whole-directory"),
        pytest.param("tests/client_server/test_alias.py::test_bad[#nocolon]",
                     "brackets are literal", id="parametrised-id-with-brackets"),
        pytest.param("tests/client_server/test_rooms.py::test_create_v12",
                     "room version 12 unsupported", id="glob"),
    ],
)
def test_expectations_match(nodeid, reason):
    found = expectations.match(expectations.parse(EXAMPLE.splitlines()), nodeid)
    assert found is not None and found.reason == reason


@pytest.mark.parametrize(
    "nodeid",
    [
        pytest.param("tests/client_server/test_joining.py::test_join_by_alias_twice",
                     id="longer-name-is-another-test"),
        pytest.param("tests/client_server/test_typing_more.py::test_x",
                     id="longer-module-is-another-module"),
        pytest.param("tests/client_server/test_alias.py::test_badn", id="bracket-not-a-class"),
        pytest.param("tests/client_server/test_rooms.py::test_create_v11", id="glob-miss"),
    ],
)
def test_expectations_do_not_match(nodeid):
    assert expectations.match(expectations.parse(EXAMPLE.splitlines()), nodeid) is None


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("tests/x.py::test_y", id="no-reason"),
        pytest.param("tests/x.py::test_y   #   ", id="empty-reason"),
        pytest.param("tests/x.py::test_y and more  # why", id="space-in-pattern"),
    ],
)
def test_expectations_reject_malformed_lines(line):
    with pytest.raises(expectations.ExpectationsError, match=":1:"):
        expectations.parse([line], source="file")


# -- results lines ---------------------------------------------------------------------


def report(when, outcome, *, longrepr=None, duration=0.1, **extra):
    return SimpleNamespace(when=when, outcome=outcome, passed=outcome == "passed",
                           failed=outcome == "failed", skipped=outcome == "skipped",
                           longrepr=longrepr, duration=duration, **extra)


def crash(message):
    return SimpleNamespace(reprcrash=SimpleNamespace(message=message))


@pytest.mark.parametrize(
    ("reports", "outcome", "message"),
    [
        pytest.param([report("setup", "passed"), report("call", "passed"),
                      report("teardown", "passed")], "passed", "", id="passed"),
        pytest.param([report("setup", "passed"),
                      report("call", "failed",
                             longrepr=crash("Failed: the spec requires 403\nmore")),
                      report("teardown", "passed")], "failed", "the spec requires 403",
                     id="failed-first-line"),
        pytest.param([report("setup", "failed", longrepr=crash("ConnectError: refused")),
                      report("teardown", "passed")], "error", "ConnectError: refused",
                     id="setup-error"),
        pytest.param([report("setup", "passed"), report("call", "passed"),
                      report("teardown", "failed", longrepr=crash("boom"))], "error", "boom",
                     id="teardown-error-after-pass"),
        pytest.param([report("setup", "skipped", longrepr=("f.py", 3, "Skipped: needs MSC1")),
                      report("teardown", "passed")], "skipped", "needs MSC1", id="skipped"),
        pytest.param([report("setup", "passed"),
                      report("call", "skipped", wasxfail="known: spec says so"),
                      report("teardown", "passed")], "xfailed", "known: spec says so",
                     id="xfailed"),
        pytest.param([report("setup", "passed"),
                      report("call", "failed", longrepr="[XPASS(strict)] known"),
                      report("teardown", "passed")], "xpassed", "[XPASS(strict)] known",
                     id="strict-xpass"),
    ],
)
def test_outcome_and_message(reports, outcome, message):
    assert results.outcome_of(reports) == outcome
    assert results.message_of(reports) == message


def test_spec_refs_join_wrapped_lines_and_stop_at_blank_lines():
    doc = """Banned users cannot rejoin.

        Spec: client-server-api/#post_matrixclientv3roomsroomidban — a ban MUST
        prevent the user from joining until unbanned.
        Spec: client-server-api/#mroommember

        Not a reference.
        """
    assert results.spec_refs(doc) == [
        "client-server-api/#post_matrixclientv3roomsroomidban — a ban MUST prevent the "
        "user from joining until unbanned.",
        "client-server-api/#mroommember",
    ]


KNOWN = {"client-server/joining", "client-server/registration", "server-server/keys"}


@pytest.mark.parametrize(
    ("module", "features", "area"),
    [
        pytest.param("tests/client_server/test_joining.py",
                     ["client-server/registration"] * 4 + ["client-server/joining"],
                     "client-server/joining", id="module-names-a-known-feature"),
        pytest.param("tests/client_server/test_scenarios.py",
                     ["client-server/registration", "client-server/joining",
                      "client-server/joining"], "client-server/joining", id="most-exercised"),
        pytest.param("tests/client_server/test_new_thing.py", [],
                     "client-server/new_thing", id="module-name-without-requests"),
        pytest.param("tests/federation/test_keys.py", [], "server-server/keys",
                     id="federation-folder"),
        pytest.param("tests/appservice/test_ping.py", [], "application-service/ping",
                     id="appservice-folder"),
        pytest.param("unittests/harness/test_plugin.py", [], "unittests", id="elsewhere"),
    ],
)
def test_area(module, features, area):
    assert results.area_of(module, features, KNOWN) == area


def test_results_line_has_the_contract_fields(tmp_path):
    path = tmp_path / "out" / "results.jsonl"
    sink = results.ResultsFile(path)
    for name in ("a", "b"):
        sink.append(results.result_line(
            nodeid=f"tests/x.py::test_{name}", area="client-server/x", outcome="passed",
            duration=0.123456, spec=["client-server-api/#x"], operations=["getVersions"],
            message="", unknown=["GET /nowhere", "GET /nowhere"] if name == "b" else []))
    sink.close()
    first, second = [json.loads(line) for line in path.read_text().splitlines()]
    assert first == {"nodeid": "tests/x.py::test_a", "area": "client-server/x",
                     "outcome": "passed", "duration": 0.1235, "spec": ["client-server-api/#x"],
                     "operations": ["getVersions"], "message": ""}
    assert second["unknown"] == ["GET /nowhere"]


# -- requirements ----------------------------------------------------------------------

VERSIONS = {"versions": ["r0.6.1", "v1.1", "v1.9"],
            "unstable_features": {"org.matrix.msc3030": True, "org.matrix.msc2716": False}}


@pytest.mark.parametrize(
    ("required", "runs"),
    [("1.1", True), ("1.9", True), ("v1.9", True), ("1.10", False), ("1.11", False),
     ("2.0", False)],
)
def test_spec_marker_compares_versions_numerically(required, runs):
    reason = requirements.missing_spec_version(required, VERSIONS)
    assert (reason is None) == runs
    if not runs:
        assert "r0.6.1, v1.1, v1.9" in reason


@pytest.mark.parametrize(("number", "runs"), [(3030, True), (2716, False), (4133, False)])
def test_msc_marker_needs_a_true_unstable_feature(number, runs):
    reason = requirements.missing_msc(number, VERSIONS)
    assert (reason is None) == runs
    if not runs:
        assert f"msc{number}" in reason


def test_first_unmet_marker_is_the_skip_reason():
    markers = [SimpleNamespace(name="slow", args=()), SimpleNamespace(name="spec", args=("1.1",)),
               SimpleNamespace(name="msc", args=(4133,))]
    assert "MSC4133" in requirements.missing(markers, VERSIONS)


# -- users and the server process --------------------------------------------------------


def test_localparts_are_unique_and_name_the_worker():
    make = Localparts("gw3")
    names = [make() for _ in range(200)]
    assert len(set(names)) == 200
    assert all(name.startswith("t-gw3-") for name in names)
    assert make_localpart("GW 1", 17, "ab3f") == "t-gw-1-17-ab3f"


@pytest.mark.parametrize(
    ("text", "mode"),
    [("open", RegistrationMode("open")), ("token:abc", RegistrationMode("token", "abc")),
     ("shared-secret:s:3", RegistrationMode("shared-secret", "s:3"))],
)
def test_registration_modes(text, mode):
    assert RegistrationMode.parse(text) == mode


@pytest.mark.parametrize("text", ["", "open:x", "token:", "password:x"])
def test_bad_registration_modes_are_refused(text):
    with pytest.raises(ValueError, match="--registration"):
        RegistrationMode.parse(text)


@pytest.mark.parametrize(
    ("line", "url"),
    [("listening on http://127.0.0.1:39923 for client and federation as localhost",
      "http://127.0.0.1:39923"),
     ("INFO listening on https://[::1]:8448.", "https://[::1]:8448"),
     ("starting up", None)],
)
def test_listening_line(line, url):
    assert parse_listening_line(line) == url


def test_flaky_expectations_are_marked_non_strict():
    from tests.harness.expectations import parse
    strict, flaky = parse(["a::b  # fails always", "a::c  # [flaky] fails sometimes"])
    assert not strict.flaky and flaky.flaky


def test_a_pass_under_a_flaky_expectation_counts_as_passed():
    from types import SimpleNamespace

    from tests.harness.results import outcome_of
    call = SimpleNamespace(when="call", failed=False, skipped=False, passed=True,
                           wasxfail="[flaky] sometimes fails")
    assert outcome_of([call]) == "passed"
