# SPDX-License-Identifier: Apache-2.0
"""The suite's pytest plugin: which server to test, what it must support, what to record.

Loaded from the root `conftest.py`. It adds the targeting options (each with an
environment variable twin), starts the reference server when no target is given (once
per run, also under xdist), skips tests whose markers ask for something the target does
not advertise, applies the expectations file as strict xfail, and writes one results
line per test. Tests see the `hs` fixture and the clients it makes; federation tests
also see `fake_homeserver` (the suite's own peers, with TLS from one CA per run that the
reference server is told to trust) and `federation` (a peer's signed client).
Application service tests see `appservice`: the run's one fake application service
(started by the process that owns the registration, see `appservice_run.py`), as one
test sees it.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import expectations, requirements, results
from tests.harness.appservice_run import NOT_LOADED, SPOOL_ENV, AppServiceError, \
    AppServiceHost, ReferenceServerWithAppService
from tests.harness.appservice_spool import Spool
from tests.harness.appservice_view import AppServiceView
from tests.harness.federation_client import FederationClient, FederationTarget, \
    tls_verification
from tests.harness.federation_handlers import handle_keys
from tests.harness.federation_peers import PeerFactory, make_target
from tests.harness.federation_tls import PeerCA
from tests.harness.homeserver import Homeserver, RegistrationMode
from tests.harness.schema import RECORDER, known_features
from tests.harness.second_server import DIR_ENV as SECOND_DIR_ENV
from tests.harness.second_server import SecondServer
from tests.harness.server import PROJECT_ROOT, ReferenceServer, ServerError, describe_log

# (option, environment variable, metavar, help)
OPTIONS = [
    ("--server-url", "MATRIX_SERVER_URL", "URL",
     "client-server base URL of the target; without it the reference server is started"),
    ("--server-name", "MATRIX_SERVER_NAME", "NAME",
     "the target's server name (default: learned from a registered user's ID)"),
    ("--federation-url", "MATRIX_FEDERATION_URL", "URL",
     "where the target's federation API answers (default: the reference server's TLS "
     "listener when the suite starts it, else resolved from the server name)"),
    ("--federation-verify-tls", "MATRIX_FEDERATION_VERIFY_TLS", "auto|yes|no",
     "check the target's federation TLS certificate (auto: not for loopback targets)"),
    ("--peer-bind", "MATRIX_PEER_BIND", "ADDR",
     "the address the suite's fake federation peers listen on (default: 127.0.0.1)"),
    ("--peer-public-host", "MATRIX_PEER_PUBLIC_HOST", "HOST",
     "the host name or IP in the fake peers' server names, which the target must reach "
     "(default: the bind address)"),
    ("--registration", "MATRIX_REGISTRATION", "open|token:T|shared-secret:S",
     "how test users are made (default: open registration with m.login.dummy)"),
    ("--second-server-url", "MATRIX_SECOND_SERVER_URL", "URL",
     "a second target, for two-server federation tests"),
    ("--appservice-registration", "MATRIX_APPSERVICE_REGISTRATION", "FILE",
     "the application service registration the target has loaded"),
    ("--appservice-bind", "MATRIX_APPSERVICE_BIND", "ADDR:PORT",
     "where the suite's application service listens (default: the registration's url)"),
    ("--expectations", "MATRIX_EXPECTATIONS", "FILE",
     "known failures of the target, applied as strict xfail (a directory: all its *.txt)"),
    ("--results", "MATRIX_RESULTS", "FILE", "append one JSON line per test to FILE"),
]
MARKERS = [
    "spec(version): the spec version whose behaviour the test checks",
    "msc(number): the unstable proposal the test needs",
    "federation: needs the target's federation API",
    "appservice: needs the suite's application service registered on the target",
    "slow: takes more than a few seconds",
    "optional: checks behaviour the spec allows but does not require (runs with --optional)",
]
# Where the controller tells xdist workers about the server it started for them.
LOG_ENV = "MATRIX_REFERENCE_SERVER_LOG"
# The directory of the fake peers' CA (ca.pem, ca.key): set by the controller for its
# workers, or by a user who wants one CA across runs (it is made there if missing).
PEER_CA_ENV = "MATRIX_PEER_CA_DIR"
HARNESS = pytest.StashKey["Harness"]()


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("matrix", "Matrix conformance target")
    for flag, env, metavar, text in OPTIONS:
        default = os.environ.get(env) or ("open" if flag == "--registration" else None)
        group.addoption(flag, dest=_dest(flag), metavar=metavar, default=default,
                        help=f"{text} [env: {env}]")
    group.addoption("--optional", action="store_true",
                    default=os.environ.get("MATRIX_OPTIONAL", "") not in ("", "0"),
                    help="also run tests of behaviour the spec allows but does not require "
                         "(marked `optional`; a failure there is no deviation) "
                         "[env: MATRIX_OPTIONAL=1]")


class Harness:
    """Per-process state: the target, the reference server if we own it, the results file."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        option = config.option
        self.base_dir = Path(str(config.invocation_params.dir))
        self.server_url: str | None = option.server_url
        try:
            self.registration = RegistrationMode.parse(option.registration or "open")
            tls_verification(option.federation_verify_tls, "https://localhost")  # valid?
            path = option.expectations
            self.expectations = expectations.load(self.resolve_path(path)) if path else []
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
        self.server: ReferenceServer | None = None
        self._start_error: str | None = None
        self._homeservers: dict[str, Homeserver] = {}
        self._results: results.ResultsFile | None = None
        self.reports: list[Any] | None = None  # the running test's reports
        self._saved_env: dict[str, str | None] = {}
        self._peer_ca: PeerCA | None = None
        self._owns_peer_ca = False
        self._federation_target: FederationTarget | None = None
        self._appservice: AppServiceHost | None = None  # only in the process that owns it
        self._second: SecondServer | None = None  # the second reference server, if ours

    def resolve_path(self, value: str) -> Path:
        return self.base_dir / value

    # -- the target ------------------------------------------------------------------

    def target_url(self) -> str:
        """The target's URL, starting the reference server on first need if none was given."""
        if self.server_url:
            return self.server_url
        if self._start_error:
            pytest.fail(self._start_error, pytrace=False)
        try:
            self.server_url = self.start_reference_server()
        except ServerError as error:
            self._start_error = str(error)
            pytest.fail(self._start_error, pytrace=False)
        return self.server_url

    def start_reference_server(self) -> str:
        """Starts the reference server, trusting the peers' CA and loading the suite's
        application service; learns its federation URL. Unless --server-name says
        otherwise it is named by its federation address, so a second one can reach it."""
        self.server = ReferenceServerWithAppService(
            server_name=self.config.option.server_name, ca=self.peer_ca())
        try:
            self.server.appservice_files = (self.appservice_for(self.server.directory),)
            url = self.server.start()
        except AppServiceError as error:
            self.server.stop()
            raise ServerError(str(error)) from None
        except ServerError:
            self.server.stop()
            raise
        self.config.option.federation_url = (self.config.option.federation_url
                                             or self.server.federation_url)
        return url

    def export_for_workers(self) -> None:
        """Lets xdist workers (spawned after this) find the server and the CA via env twins."""
        exported = {PEER_CA_ENV: str(self.peer_ca().directory)}
        if self.server is not None and self.server_url:
            exported.update({"MATRIX_SERVER_URL": self.server_url,
                             LOG_ENV: str(self.server.stderr_path)})
            if self.server.named_by_address:
                self._second = SecondServer.create()
                exported[SECOND_DIR_ENV] = str(self._second.directory)
            if self.config.option.federation_url:
                exported["MATRIX_FEDERATION_URL"] = self.config.option.federation_url
        if self._appservice is not None:
            exported.update(self._appservice.environment())
        for name, value in exported.items():
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value

    # -- the application service ---------------------------------------------------------

    def start_appservice(self) -> AppServiceHost:
        """Serves the registration given with --appservice-registration (once per run)."""
        if self._appservice is None:
            option = self.config.option
            self._appservice = AppServiceHost.serve(
                self.resolve_path(option.appservice_registration), bind=option.appservice_bind)
        return self._appservice

    def appservice_for(self, directory: Path) -> Path:
        """The registration the reference server loads: the given one, or a new one in
        `directory` for a fake service on a free port."""
        option = self.config.option
        if option.appservice_registration:
            return self.start_appservice().registration_path
        self._appservice = AppServiceHost.for_reference_server(directory,
                                                               bind=option.appservice_bind)
        option.appservice_registration = str(self._appservice.registration_path)
        return self._appservice.registration_path

    def appservice_spool(self) -> Spool:
        """The spool of the run's fake service: ours, the controller's, or a skip."""
        if self._appservice is not None:
            return self._appservice.spool
        if os.environ.get(SPOOL_ENV):
            return Spool(os.environ[SPOOL_ENV])
        if not self.config.option.appservice_registration:
            pytest.skip(NOT_LOADED)
        if hasattr(self.config, "workerinput"):  # all workers cannot listen at one url
            pytest.fail(f"the xdist controller started no application service for "
                        f"--appservice-registration (it does for runs of tests/ only) and "
                        f"${SPOOL_ENV} is unset; run without -n, or run tests/", pytrace=False)
        try:
            return self.start_appservice().spool
        except AppServiceError as error:
            pytest.fail(str(error), pytrace=False)

    def may_have_appservice(self) -> bool:
        """Whether the target loads the suite's registration (given, or ours to write)."""
        return bool(self.config.option.appservice_registration) or self.server_url is None

    # -- the second homeserver ---------------------------------------------------------

    def second_homeserver(self) -> Homeserver:
        """The second target: the given one, else the suite's second reference server."""
        url = self.config.option.second_server_url or self._second_server_url()
        return self.homeserver(url)

    def _second_server_url(self) -> str:
        self.target_url()  # the first server, started now if it is ours and not yet running
        if self._second is None and os.environ.get(SECOND_DIR_ENV):
            self._second = SecondServer.shared(os.environ[SECOND_DIR_ENV])
        elif self._second is None and self.server is not None and self.server.named_by_address:
            self._second = SecondServer.create()  # without xdist: this process owns both
        if self._second is None:
            pytest.skip("needs a second homeserver: give --second-server-url URL (the suite "
                        "starts one itself only beside its own reference server, when that "
                        "is named by its address, i.e. without --server-name)")
        if self._second.url() is None and not hasattr(self.config, "workerinput"):
            self._second.start(self.peer_ca())
        try:
            url = self._second.url()
        except ServerError as error:
            pytest.fail(str(error), pytrace=False)
        if url is None:
            pytest.fail(f"the xdist controller started no second reference server although "
                        f"this worker asked for one in {self._second.directory}", pytrace=False)
        return url

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """A worker that will run a test using `hs2` tells the controller to start it."""
        directory = os.environ.get(SECOND_DIR_ENV)
        worker = getattr(self.config, "workerinput", {}).get("workerid")
        if directory and worker and any("hs2" in getattr(item, "fixturenames", ())
                                        for item in items):
            SecondServer.shared(directory).want(worker)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """In the controller, before any test is scheduled: start the second server if a
        worker asked for it."""
        if self._second is not None and self._second.wanted():
            self._second.start(self.peer_ca())

    # -- federation --------------------------------------------------------------------

    def peer_ca(self) -> PeerCA:
        """The CA of the fake peers: the one in $MATRIX_PEER_CA_DIR, else a new one."""
        if self._peer_ca is None:
            directory = os.environ.get(PEER_CA_ENV) or None
            self._peer_ca = PeerCA.open(directory)
            self._owns_peer_ca = not directory
        return self._peer_ca

    def federation_target(self) -> FederationTarget:
        """The target's federation URL, server name and TLS checking, found once."""
        if self._federation_target is None:
            homeserver = self.homeserver()
            option = self.config.option
            self._federation_target = make_target(
                homeserver.server_name, option.federation_url or homeserver.federation_url,
                option.federation_verify_tls)
        return self._federation_target

    def peer_factory(self) -> PeerFactory:
        option = self.config.option
        return PeerFactory(self.peer_ca(), self.federation_target(), bind=option.peer_bind,
                           public_host=option.peer_public_host)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self._appservice is not None:
            for line in self._appservice.summary():
                terminalreporter.write_line(line)
        if self._peer_ca is not None:
            terminalreporter.write_line(
                f"fake federation peers' CA: {self._peer_ca.pem_path} (a target must trust "
                f"it, or not verify TLS; set {PEER_CA_ENV} to keep one across runs)")

    def diagnose(self) -> str:
        if self.server is not None:
            return self.server.diagnose()
        return describe_log(os.environ.get(LOG_ENV))

    def homeserver(self, url: str | None = None) -> Homeserver:
        url = url or self.target_url()
        if url not in self._homeservers:
            is_main = url == self.server_url
            self._homeservers[url] = Homeserver(
                url,
                server_name=self.config.option.server_name if is_main else None,
                registration=self.registration,
                federation_url=self.config.option.federation_url if is_main else None,
                diagnose=self.diagnose,
            )
        return self._homeservers[url]

    # -- results ---------------------------------------------------------------------

    def write_result(self, item: pytest.Item, reports: list[Any]) -> None:
        path = self.config.option.results
        if not path:
            return
        if self._results is None:
            self._results = results.ResultsFile(self.resolve_path(path))
        function = getattr(item, "function", None)
        module_path = item.nodeid.split("::", 1)[0]
        self._results.append(results.result_line(
            nodeid=item.nodeid,
            area=results.area_of(module_path, RECORDER.features(), known_features()),
            outcome=results.outcome_of(reports),
            duration=sum(report.duration for report in reports),
            spec=results.spec_refs(getattr(function, "__doc__", None)),
            operations=RECORDER.operation_ids(),
            message=results.message_of(reports),
            unknown=RECORDER.unknown,
        ))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keeps the running test's reports (under xdist the controller sees them too,
        but only the process running the test has `reports` set)."""
        if self.reports is not None:
            self.reports.append(report)

    def close(self) -> None:
        for homeserver in self._homeservers.values():
            homeserver.close()
        if self._results is not None:
            self._results.close()
        if self.server is not None:
            self.server.stop()
        if self._second is not None:
            self._second.close()
        if self._appservice is not None:
            self._appservice.close()
        if self._peer_ca is not None and self._owns_peer_ca:
            shutil.rmtree(self._peer_ca.directory, ignore_errors=True)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    harness = Harness(config)
    config.stash[HARNESS] = harness
    config.pluginmanager.register(harness, "matrix-harness")


def _runs_suite_tests(config: pytest.Config) -> bool:
    """Whether this run includes black-box tests (not only `unittests/`)."""
    if config.option.collectonly or config.option.help or config.option.version:
        return False
    suite = (PROJECT_ROOT / "tests").resolve()
    base = Path(str(config.invocation_params.dir))
    for arg in config.args:
        path = (base / str(arg).split("::", 1)[0]).resolve()
        if path == suite or suite in path.parents or path in suite.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, the controller starts the one reference server before workers spawn.

    Without xdist the server is started lazily, by the first test that needs it. The
    fake application service of a given registration starts here in either case (never
    in a worker), since the target may push to it at any time.
    """
    config = session.config
    harness = config.stash[HARNESS]
    is_controller = config.pluginmanager.has_plugin("dsession")
    if hasattr(config, "workerinput") or not _runs_suite_tests(config):
        return
    if config.option.appservice_registration:
        try:
            harness.start_appservice()
        except AppServiceError as error:
            pytest.exit(str(error), returncode=pytest.ExitCode.INTERNAL_ERROR)
    if not is_controller:
        return
    if not harness.server_url:
        try:
            harness.server_url = harness.start_reference_server()
        except ServerError as error:
            pytest.exit(str(error), returncode=pytest.ExitCode.INTERNAL_ERROR)
    harness.export_for_workers()  # also the peers' CA: one for all workers


def pytest_unconfigure(config: pytest.Config) -> None:
    harness = config.stash.get(HARNESS, None)
    if harness is not None:
        harness.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    known = config.stash[HARNESS].expectations
    if not known:
        return
    for item in items:
        expectation = expectations.match(known, item.nodeid)
        if expectation is not None:
            item.add_marker(pytest.mark.xfail(strict=not expectation.flaky,
                                              reason=expectation.reason))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skips a test whose markers ask for what the target does not advertise."""
    harness = item.config.stash[HARNESS]
    markers = list(item.iter_markers())
    if item.get_closest_marker("optional") and not item.config.option.optional:
        pytest.skip("checks behaviour the spec allows but does not require: give --optional "
                    "to run it")
    if item.get_closest_marker("appservice") and not harness.may_have_appservice():
        pytest.skip("needs the suite's application service on the target: give "
                    "--appservice-registration FILE (the registration the target has loaded)")
    if requirements.markers_needing_versions(markers):
        reason = requirements.missing(markers, harness.homeserver().versions())
        if reason:
            pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Collects the test's reports and operations, then writes its results line."""
    harness = item.config.stash[HARNESS]
    RECORDER.begin()
    harness.reports = []
    result = yield
    reports, harness.reports = harness.reports, None
    harness.write_result(item, reports)
    return result


@pytest.fixture(scope="session")
def hs(pytestconfig: pytest.Config) -> Homeserver:
    """The homeserver under test (`--server-url`, or the reference server)."""
    return pytestconfig.stash[HARNESS].homeserver()


@pytest.fixture(scope="session")
def hs2(pytestconfig: pytest.Config) -> Homeserver:
    """The second target for two-server tests, federating with `hs`.

    `--second-server-url`, or, beside the suite's own reference server, a second one it
    starts (see `second_server.py`); skips when the user named only one target.
    """
    return pytestconfig.stash[HARNESS].second_homeserver()


@pytest.fixture(scope="session")
def appservice_registration(pytestconfig: pytest.Config) -> Path:
    """The registration file the target has loaded (`--appservice-registration`)."""
    path = pytestconfig.option.appservice_registration
    if not path:
        pytest.skip("needs --appservice-registration FILE")
    return pytestconfig.stash[HARNESS].resolve_path(path)


@pytest.fixture
def appservice(pytestconfig: pytest.Config, hs: Homeserver) -> Iterator[AppServiceView]:
    """The suite's application service as this test sees it (see `appservice_view.py`).

    Its tokens and identities, `as_client(user_id=..., device_id=...)`, fresh users and
    aliases in its namespaces, what the target sent about this test, and wishes
    (`answer_user_query`, `answer_alias_query`, `fail_transactions`, `on_transaction`),
    withdrawn at teardown. Faults the service recorded about the test fail it. Skips
    when the target has not loaded the suite's registration.
    """
    view = AppServiceView(pytestconfig.stash[HARNESS].appservice_spool(), hs)
    yield view
    view.close()


@pytest.fixture
def fake_homeserver(pytestconfig: pytest.Config) -> Iterator[PeerFactory]:
    """Makes started fake federating homeservers that answer only what the test opts into.

    `peer = fake_homeserver(handle_keys(), handle_transactions(on_pdu=seen.append))`;
    several per test are allowed. All are stopped when the test ends, and any request
    the target made that no handler allowed fails the test, naming the handler to add.
    """
    factory = pytestconfig.stash[HARNESS].peer_factory()
    yield factory
    factory.close()


@pytest.fixture
def federation(fake_homeserver: PeerFactory) -> FederationClient:
    """The target's federation API as seen by a fresh fake peer that publishes its keys.

    `federation.peer` is that peer; tests needing more handlers make their own peer and
    use `peer.client()`.
    """
    return fake_homeserver(handle_keys()).client()
