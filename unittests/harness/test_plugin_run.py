# SPDX-License-Identifier: Apache-2.0
"""The plugin in a real pytest run, against a tiny fake homeserver.

The fake answers a handful of requests, some of them wrongly on purpose, so one run
shows the whole contract: skips by marker, expectations as strict xfail, schema and
status failures, and the results file, with and without xdist.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.harness.server import ReferenceServer, ServerError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VERSIONS = {"versions": ["v1.1", "v1.2"],
            "unstable_features": {"org.matrix.msc1234": True, "org.matrix.msc5555": False}}


class FakeHomeserver(BaseHTTPRequestHandler):
    """Answers just enough; whoami breaks its schema, capabilities a status."""

    def log_message(self, *args):  # keep the test output quiet
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        routes = {
            "/_matrix/client/versions": (200, VERSIONS),
            "/_matrix/client/v3/account/whoami": (200, {"user_id": "not-a-user-id"}),
            "/_matrix/client/v3/capabilities": (418, {"errcode": "M_TEAPOT", "error": "tea"}),
        }
        self.answer(*routes.get(self.path, (404, {"errcode": "M_UNRECOGNIZED", "error": "no"})))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/_matrix/client/v3/register":
            return self.answer(404, {"errcode": "M_UNRECOGNIZED", "error": "no"})
        if "auth" not in body:
            return self.answer(401, {"session": "s", "flows": [{"stages": ["m.login.dummy"]}],
                                     "params": {}})
        self.answer(200, {"user_id": f"@{body['username']}:fake.test",
                          "access_token": "token", "device_id": "DEVICE"})


@pytest.fixture(scope="module")
def fake_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHomeserver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


SUITE = '''
import pytest

from tests.harness.server import ReferenceServer, ServerError

def test_versions(hs):
    """Spec: client-server-api/#get_matrixclientversions"""
    assert hs.versions()["versions"]

@pytest.mark.spec("1.11")
def test_needs_newer_spec(hs):
    pass

@pytest.mark.msc(1234)
def test_advertised_msc(hs):
    pass

@pytest.mark.msc(5555)
def test_disabled_msc(hs):
    pass

@pytest.mark.appservice
def test_needs_appservice(hs):
    pass

def test_schema_violation(hs):
    alice = hs.register()
    assert alice.user_id.endswith(":fake.test") and hs.server_name == "fake.test"
    alice.whoami()

def test_undocumented_status(hs):
    hs.client().do("GET", ["capabilities"])

def test_unknown_path(hs):
    assert hs.client().do("GET", ["nothing", "here"], prefix="/custom").status_code == 404

def test_known_failure():
    assert False, "the server gets this wrong"

def test_known_but_passing():
    pass
'''
EXPECTATIONS = """\
# known failures
client_server/test_whoami.py::test_known_*  # spec 1.1 §whoami: described failure
"""
OUTCOMES = {
    "test_versions": ("passed", ""),
    "test_needs_newer_spec": ("skipped", "needs spec v1.11 or later; the target's /versions "
                                         "lists v1.1, v1.2"),
    "test_advertised_msc": ("passed", ""),
    "test_disabled_msc": ("skipped", "needs MSC5555; the target's /versions has no "
                                     "unstable_features key containing 'msc5555' set to true"),
    "test_needs_appservice": ("skipped", "needs the suite's application service on the "
                                         "target: give --appservice-registration FILE (the "
                                         "registration the target has loaded)"),
    "test_schema_violation": ("failed", "GET /_matrix/client/v3/account/whoami → 200: the body "
                                        "does not match the schema of getTokenOwner "
                                        "(api/client-server/whoami.yaml, response 200)"),
    "test_undocumented_status": ("failed", "the spec does not list status 418 for "
                                           "getCapabilities (api/client-server/capabilities.yaml "
                                           "documents 200, 401, 429)"),
    "test_unknown_path": ("passed", ""),
    "test_known_failure": ("xfailed", "spec 1.1 §whoami: described failure"),
    "test_known_but_passing": ("xpassed", "[XPASS(strict)] spec 1.1 §whoami: described failure"),
}


def run_suite(tmp_path: Path, url: str, *extra: str) -> tuple[Any, list[dict]]:
    """Runs SUITE with the plugin in a fresh pytest process; returns it and the results."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "client_server").mkdir()
    (tmp_path / "client_server" / "test_whoami.py").write_text(SUITE)
    (tmp_path / "expected.txt").write_text(EXPECTATIONS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MATRIX_"))}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    command = [sys.executable, "-m", "pytest", "-p", "tests.harness.plugin", "-p",
               "no:cacheprovider", "--strict-markers", "-q", "--server-url", url,
               "--expectations", "expected.txt", "--results", "out/results.jsonl", *extra]
    process = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    results = tmp_path / "out" / "results.jsonl"
    lines = results.read_text().splitlines() if results.exists() else []
    return process, [json.loads(line) for line in lines]


@pytest.mark.parametrize("extra", [pytest.param([], id="one-process"),
                                   pytest.param(["-p", "xdist", "-n", "2"], id="xdist")])
def test_a_run_records_every_outcome(tmp_path, fake_url, extra):
    process, lines = run_suite(tmp_path, fake_url, *extra)
    assert process.returncode == 1, process.stdout + process.stderr
    by_name = {line["nodeid"].split("::")[1]: line for line in lines}
    assert {name: (line["outcome"], line["message"]) for name, line in by_name.items()} == OUTCOMES
    assert all(line["area"] == "client-server/whoami" for line in lines)
    assert by_name["test_versions"]["spec"] == ["client-server-api/#get_matrixclientversions"]
    assert by_name["test_schema_violation"]["operations"] == ["register", "getTokenOwner"]
    assert by_name["test_unknown_path"]["unknown"] == ["GET /custom/nothing/here"]


def test_a_malformed_expectations_file_stops_the_run(tmp_path, fake_url):
    (tmp_path / "bad.txt").write_text("tests/x.py::test_y\n")
    process, _ = run_suite(tmp_path, fake_url, "--expectations", "bad.txt")
    assert process.returncode == 4, process.stdout + process.stderr
    assert "has no reason" in process.stderr


class ScriptedServer(ReferenceServer):
    """A stand-in for `python -m reference_server` that runs a given script instead."""

    def __init__(self, script: str) -> None:
        super().__init__()
        self.script = script

    def command(self, config_path):
        return [sys.executable, "-c", self.script]


def test_a_server_that_dies_at_start_is_reported_with_its_stderr():
    server = ScriptedServer("import sys; sys.stderr.write('boom: no database\\n'); sys.exit(3)")
    with pytest.raises(ServerError) as failure:
        server.start()
    server.stop()
    message = str(failure.value)
    assert "exited before it printed its address (exit status 3)" in message
    assert "boom: no database" in message


def test_a_server_is_ready_once_versions_answers(fake_url):
    script = (f"import time; print('listening on {fake_url} as localhost', flush=True); "
              "time.sleep(60)")
    server = ScriptedServer(script)
    try:
        assert server.start() == fake_url
        assert server.alive()
    finally:
        server.stop()
    assert not server.alive() and not server.directory.exists()
