# SPDX-License-Identifier: Apache-2.0
"""The run's fake application service: where it is started, and how workers find it.

The target pushes to the one `url` of the registration, so exactly one process serves
it: the process that owns the registration, which is the xdist controller or the only
pytest process (never a worker). It starts at `pytest_sessionstart` when the user gave
`--appservice-registration FILE`, or together with the reference server when the suite
starts one: then it binds a free port first and writes a registration for that port
into the server's data directory, and the server's config names it. Workers learn the
spool directory from $MATRIX_APPSERVICE_SPOOL and the registration path from
$MATRIX_APPSERVICE_REGISTRATION (the option's twin), both exported before they spawn.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.harness.appservice import FakeAppService
from tests.harness.appservice_spool import Spool
from tests.harness.server import ReferenceServer
from tools.appservice_registration import build_registration, dump_registration, \
    load_registration

JsonDict = dict[str, Any]
SPOOL_ENV = "MATRIX_APPSERVICE_SPOOL"
REGISTRATION_ENV = "MATRIX_APPSERVICE_REGISTRATION"
NOT_LOADED = ("the target has not loaded the suite's application service: run "
              "`python -m tools.appservice_registration write FILE`, load it into the target, "
              "pass --appservice-registration FILE")


class AppServiceError(Exception):
    """The fake application service cannot run; the message says what to change."""


def parse_bind(text: str) -> tuple[str, int]:
    """`ADDR:PORT` or `[IPv6]:PORT` → (addr, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise AppServiceError(f"--appservice-bind must be ADDR:PORT (e.g. 0.0.0.0:29328), "
                              f"not {text!r}")
    return host.strip("[]"), int(port)


class AppServiceHost:
    """The fake application service and its spool, owned by this process for the run."""

    def __init__(self, registration: JsonDict, registration_path: Path, *,
                 bind: tuple[str, int] | None) -> None:
        self.registration = registration
        self.registration_path = registration_path
        self.spool = Spool.create(tempfile.mkdtemp(prefix="matrix-appservice-spool-"))
        try:
            self.service = FakeAppService(registration, self.spool, bind=bind)
        except OSError as error:
            shutil.rmtree(self.spool.directory, ignore_errors=True)
            where = "{}:{}".format(*bind) if bind else registration["url"]
            raise AppServiceError(
                f"the suite's application service cannot listen at {where} ({error}). The "
                f"registration's url must lead to this machine; to listen on another "
                f"address than the url names (say, for a target in a container), pass "
                f"--appservice-bind ADDR:PORT") from None

    @classmethod
    def serve(cls, registration_path: Path, *, bind: str | None = None) -> AppServiceHost:
        """Serves a registration the target has loaded, at its url (or at `bind`)."""
        try:
            registration = load_registration(registration_path)
        except ValueError as error:
            raise AppServiceError(str(error)) from None
        host = cls(registration, registration_path, bind=parse_bind(bind) if bind else None)
        return host.start()

    @classmethod
    def for_reference_server(cls, directory: Path, *, bind: str | None = None) -> AppServiceHost:
        """A new registration in `directory` for a service on a free port (or `bind`)."""
        registration = build_registration(url="http://127.0.0.1:0")
        host = cls(registration, directory / "appservice.yaml",
                   bind=parse_bind(bind) if bind else ("127.0.0.1", 0))
        registration["url"] = host.service.local_url
        dump_registration(host.registration_path, registration)
        return host.start()

    def start(self) -> AppServiceHost:
        self.service.start()
        self.spool.write_meta({
            "registration": self.registration,
            "registration_path": str(self.registration_path),
            "control_url": self.service.local_url,
            "control_token": self.service.control_token,
            "pid": os.getpid(),
        })
        return self

    def environment(self) -> dict[str, str]:
        """What xdist workers need to find the service (they inherit the environment)."""
        return {SPOOL_ENV: str(self.spool.directory),
                REGISTRATION_ENV: str(self.registration_path)}

    def summary(self) -> list[str]:
        """Terminal summary lines: where it listened, and faults no test reported."""
        lines = [f"the suite's application service listened at {self.service.local_url} "
                 f"(registration {self.registration_path})"]
        unclaimed = self.service.unclaimed_faults()
        if unclaimed:
            lines.append(f"it recorded {len(unclaimed)} fault(s) that no test reported "
                         "(they arrived outside every test that could own them):")
            lines += [f"  - {text}" for _, text in unclaimed[:20]]
        return lines

    def close(self) -> None:
        self.service.stop()
        shutil.rmtree(self.spool.directory, ignore_errors=True)


class ReferenceServerWithAppService(ReferenceServer):
    """The reference server, configured to load application service registrations.

    `server.py` writes a fixed config file, so `--config` names a sibling that adds
    `[appservices] registration_files`; it is derived afresh from the base file each time
    the command is built, so building it again (for error messages) changes nothing.
    """

    appservice_files: tuple[Path, ...] = ()

    def command(self, config_path: Path) -> list[str]:
        return super().command(self._with_appservices(config_path))

    def _with_appservices(self, config_path: Path) -> Path:
        if not self.appservice_files:
            return config_path
        extended = config_path.with_name("config-appservices.toml")
        if config_path.exists():
            files = ", ".join(json.dumps(str(path.resolve())) for path in self.appservice_files)
            extended.write_text(config_path.read_text(encoding="utf-8")
                                + f"\n[appservices]\nregistration_files = [{files}]\n",
                                encoding="utf-8")
        return extended
