# SPDX-License-Identifier: Apache-2.0
"""A turnkey Synapse target: install it, configure it for the suite, run it on loopback.

    python -m tools.synapse_target start --data-dir DIR [--port 0] [--federation-port 0]
        [--appservice-registration FILE ...] [--synapse-python PATH]
    python -m tools.synapse_target install

`start` prints `client_url=…`, `federation_url=…`, `server_name=…` and `ca_file=…` lines
once Synapse answers, then runs until SIGTERM or SIGINT. From Python:

    with start_synapse(data_dir, appservice_files=[reg]) as synapse:
        run_suite(synapse.client_url)

Synapse pins many packages, so it lives in its own virtualenv (`.venv-synapse/` at the
repo root, made on first use), never in the caller's environment. The server name is
`127.0.0.1:<federation TLS port>`; a data dir that is started again keeps its federation
port, signing key and secrets, so its database stays valid.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trustme
import yaml

SYNAPSE_VERSION = "1.163.2"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = REPO_ROOT / ".venv-synapse"
HOST = "127.0.0.1"

# Far above anything the suite does, so a test never meets a 429 it did not ask for.
_UNLIMITED = {"per_second": 10_000, "burst_count": 100_000}


class SynapseError(RuntimeError):
    """Synapse could not be installed, configured or started; the message says why."""


# --- install ----------------------------------------------------------------------------


def _installed_version(python: Path) -> str | None:
    # Package metadata, not synapse.__version__ (which may carry a git suffix).
    code = "import importlib.metadata as m; print(m.version('matrix-synapse'))"
    probe = [str(python), "-c", code]
    result = subprocess.run(probe, capture_output=True, text=True, env=_clean_env())
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_synapse(venv: Path = DEFAULT_VENV) -> Path:
    """Return the Python of a virtualenv holding Synapse, installing it there if needed.

    A lock file inside the venv keeps parallel CI jobs from installing at once.
    """
    python = venv / "bin" / "python"
    venv.mkdir(parents=True, exist_ok=True)
    with open(venv / "install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and _installed_version(python) == SYNAPSE_VERSION:
            return python
        print(f"installing matrix-synapse=={SYNAPSE_VERSION} into {venv}", file=sys.stderr)
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "-q", f"matrix-synapse=={SYNAPSE_VERSION}"],
        ]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, env=_clean_env())
            if result.returncode != 0:
                raise SynapseError(f"{' '.join(step)} failed:\n{result.stderr[-3000:]}")
    return python


# --- configuration (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where everything of one Synapse instance lives inside its data dir."""

    data_dir: Path
    config: Path
    log_config: Path
    log: Path  # Synapse's own log (WARNING and above)
    output: Path  # its stdout and stderr: errors from before logging starts
    state: Path  # the identity kept across starts: federation port and secrets
    signing_key: Path
    tls_cert: Path
    tls_key: Path
    ca_file: Path  # the CA that issued tls_cert, for clients that verify TLS
    database: Path
    media: Path

    @classmethod
    def of(cls, data_dir: Path | str) -> Layout:
        """The layout of `data_dir` (made absolute: Synapse runs with its own cwd)."""
        d = Path(data_dir).resolve()
        return cls(
            data_dir=d, config=d / "homeserver.yaml", log_config=d / "log_config.yaml",
            log=d / "homeserver.log", output=d / "synapse.out", state=d / "target.json",
            signing_key=d / "signing.key", tls_cert=d / "tls.crt", tls_key=d / "tls.key",
            ca_file=d / "ca.pem", database=d / "homeserver.db", media=d / "media_store",
        )  # fmt: skip


def rate_limits() -> dict[str, Any]:
    """Every rate limit Synapse 1.163 reads from its config, raised out of the way."""
    flat = ["rc_message", "rc_registration", "rc_registration_token_validity",
            "rc_admin_redaction", "rc_joins_per_room", "rc_key_requests",
            "rc_3pid_validation", "rc_third_party_invite", "rc_media_create",
            "rc_delayed_event_mgmt", "rc_room_creation", "rc_reports",
            "rc_user_directory", "rc_profile"]  # fmt: skip
    nested = {
        "rc_login": ["address", "account", "failed_attempts"],
        "rc_joins": ["local", "remote"],
        "rc_invites": ["per_room", "per_user", "per_issuer"],
        "rc_presence": ["per_user"],
    }
    limits: dict[str, Any] = {name: dict(_UNLIMITED) for name in flat}
    limits.update({name: {sub: dict(_UNLIMITED) for sub in subs} for name, subs in nested.items()})
    limits["rc_federation"] = {
        "window_size": 1000, "sleep_limit": 100_000, "sleep_delay": 1,
        "reject_limit": 100_000, "concurrent": 1000,
    }  # fmt: skip
    return limits


def federation_timing() -> dict[str, str]:
    """Retry delays of a test network: seconds, where Synapse waits up to a minute.

    The spec leaves retry timing to the sender; a suite that waits ten seconds for a
    retried transaction needs the retries to come within that. A destination that
    failed is retried after seconds rather than ten minutes, as every test's peer is new.
    """
    return {
        "max_long_retry_delay": "2s",
        "max_short_retry_delay": "1s",
        "destination_min_retry_interval": "2s",
        "destination_max_retry_interval": "10s",
    }


def build_config(
    layout: Layout,
    *,
    client_port: int,
    federation_port: int,
    appservice_files: Sequence[Path],
    secret_values: dict[str, str],
    peer_ca: Path | None = None,
) -> dict[str, Any]:
    """The homeserver.yaml for a loopback Synapse serving the suite (`peer_ca`: the CA of
    the suite's fake peers, whose certificates Synapse then verifies)."""
    listener = {"bind_addresses": [HOST], "type": "http", "x_forwarded": False}
    return {
        "server_name": f"{HOST}:{federation_port}",
        "public_baseurl": f"http://{HOST}:{client_port}/",
        "report_stats": False,
        "listeners": [
            {**listener, "port": client_port, "tls": False,
             "resources": [{"names": ["client"], "compress": False}]},
            {**listener, "port": federation_port, "tls": True,
             "resources": [{"names": ["federation"], "compress": False}]},
        ],  # fmt: skip
        "tls_certificate_path": str(layout.tls_cert),
        "tls_private_key_path": str(layout.tls_key),
        "signing_key_path": str(layout.signing_key),
        "database": {"name": "sqlite3", "args": {"database": str(layout.database)}},
        "log_config": str(layout.log_config),
        "media_store_path": str(layout.media),
        "enable_registration": True,
        "enable_registration_without_verification": True,
        "bcrypt_rounds": 4,
        "room_list_publication_rules": [{"action": "allow"}],
        # The spec serves the public room list without auth; Synapse needs telling.
        "allow_public_rooms_without_auth": True,
        "allow_public_rooms_over_federation": True,
        "federation_verify_certificates": peer_ca is not None,
        **({"federation_custom_ca_list": [str(peer_ca.resolve())]} if peer_ca else {}),
        "federation_ip_range_blacklist": [],
        # All of loopback: a second server of two-server tests may be on 127.0.0.2.
        "ip_range_whitelist": ["127.0.0.0/8", "::1"],
        "trusted_key_servers": [],
        "federation": federation_timing(),
        "suppress_key_server_warning": True,
        "app_service_config_files": [str(Path(f).resolve()) for f in appservice_files],
        "presence": {"enabled": True},
        "enable_metrics": False,
        **secret_values,
        **rate_limits(),
    }


def build_log_config(layout: Layout) -> dict[str, Any]:
    """Python logging config: WARNING and above, to a file in the data dir."""
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "file": {"class": "logging.FileHandler", "formatter": "plain",
                     "filename": str(layout.log), "encoding": "utf8"},
        },  # fmt: skip
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


# --- data dir ---------------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bind port 0, ask, close)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _load_state(layout: Layout, federation_port: int) -> dict[str, Any]:
    """The data dir's lasting identity: federation port (hence server name) and secrets."""
    state = json.loads(layout.state.read_text()) if layout.state.exists() else {}
    if federation_port and state.get("federation_port", federation_port) != federation_port:
        raise SynapseError(
            f"{layout.data_dir} belongs to server {HOST}:{state['federation_port']}; "
            f"use that federation port or a fresh data dir"
        )
    state.setdefault("federation_port", federation_port or free_port())
    for name in ("registration_shared_secret", "macaroon_secret_key", "form_secret"):
        state.setdefault(name, secrets.token_urlsafe(32))
    layout.state.write_text(json.dumps(state, indent=2))
    return state


def _write_keys(layout: Layout) -> None:
    """Make the signing key and TLS certificate once; later starts reuse them."""
    if not layout.signing_key.exists():
        # Synapse's format: "<algorithm> <version> <unpadded base64 of the 32-byte seed>".
        seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        layout.signing_key.write_text(f"ed25519 a_{secrets.token_hex(2)} {seed}\n")
    if not layout.tls_cert.exists():
        ca = trustme.CA(organization_name="matrix-conformance synapse target")
        leaf = ca.issue_cert(HOST, "localhost", "::1")
        ca.cert_pem.write_to_path(str(layout.ca_file))
        leaf.private_key_pem.write_to_path(str(layout.tls_key))
        layout.tls_cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))


def prepare_data_dir(
    data_dir: Path,
    *,
    client_port: int = 0,
    federation_port: int = 0,
    appservice_files: Iterable[Path] = (),
    peer_ca: Path | None = None,
) -> tuple[Layout, dict[str, Any]]:
    """Write keys, certificate and config into `data_dir`; return its layout and config."""
    layout = Layout.of(data_dir)
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    state = _load_state(layout, federation_port)
    _write_keys(layout)
    config = build_config(
        layout,
        client_port=client_port or free_port(),
        federation_port=state["federation_port"],
        appservice_files=list(appservice_files),
        secret_values={k: v for k, v in state.items() if k != "federation_port"},
        peer_ca=peer_ca,
    )
    layout.config.write_text(yaml.safe_dump(config, sort_keys=False))
    layout.log_config.write_text(yaml.safe_dump(build_log_config(layout), sort_keys=False))
    return layout, config


# --- running ----------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """The caller's environment minus what would leak its packages into Synapse's venv."""
    leaky = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in leaky}


def _tail(path: Path, lines: int) -> str:
    if not path.exists():
        return "(missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"


@dataclass
class SynapseHandle:
    """A running Synapse. `.stop()` it, or use it as a context manager."""

    process: subprocess.Popen[bytes]
    layout: Layout
    client_url: str  # plain HTTP, client-server API
    federation_url: str  # HTTPS, server-server and key APIs
    server_name: str
    registration_shared_secret: str = field(repr=False)

    @property
    def ca_file(self) -> Path:
        """The CA that issued the federation listener's certificate."""
        return self.layout.ca_file

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of Synapse's log and of its stdout/stderr, for error messages."""
        return (
            f"--- {self.layout.log}\n{_tail(self.layout.log, lines)}\n"
            f"--- {self.layout.output}\n{_tail(self.layout.output, lines)}"
        )

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if Synapse is still running after `grace` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> SynapseHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _wait_until_ready(handle: SynapseHandle, timeout: float) -> None:
    """Poll `/_matrix/client/versions` until it answers 200; fail early if Synapse dies."""
    url = f"{handle.client_url}/_matrix/client/versions"
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if (status := handle.process.poll()) is not None:
                raise SynapseError(
                    f"Synapse exited with status {status} before answering {url}\n"
                    f"{handle.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise SynapseError(
                    f"Synapse did not answer {url} within {timeout:.0f} s\n{handle.log_tail()}"
                )
            time.sleep(0.2)


def start_synapse(
    data_dir: Path | str,
    *,
    appservice_files: Iterable[Path | str] = (),
    client_port: int = 0,
    federation_port: int = 0,
    synapse_python: Path | str | None = None,
    timeout: float = 120.0,
    peer_ca: Path | None = None,
) -> SynapseHandle:
    """Configure and start Synapse for the suite; return once its client API answers.

    Installs Synapse into `.venv-synapse/` first unless `synapse_python` names a Python
    that has it. Ports of 0 mean any free loopback port.
    """
    python = Path(synapse_python) if synapse_python else ensure_synapse()
    layout, config = prepare_data_dir(
        Path(data_dir),
        client_port=client_port,
        federation_port=federation_port,
        appservice_files=[Path(f) for f in appservice_files],
        peer_ca=peer_ca,
    )
    client, federation = (listener["port"] for listener in config["listeners"])
    command = [str(python), "-m", "synapse.app.homeserver", "--config-path", str(layout.config)]
    with open(layout.output, "wb") as output:
        process = subprocess.Popen(
            command, cwd=layout.data_dir, stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT, env=_clean_env(), start_new_session=True,
        )  # fmt: skip
    handle = SynapseHandle(
        process=process,
        layout=layout,
        client_url=f"http://{HOST}:{client}",
        federation_url=f"https://{HOST}:{federation}",
        server_name=config["server_name"],
        registration_shared_secret=config["registration_shared_secret"],
    )
    try:
        _wait_until_ready(handle, timeout)
    except BaseException:
        handle.stop()
        raise
    return handle


# --- command line -----------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.synapse_target", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="run Synapse until SIGTERM or SIGINT")
    start.add_argument("--data-dir", type=Path, required=True)
    start.add_argument("--port", type=int, default=0, help="client API port (0: any free)")
    start.add_argument(
        "--federation-port", type=int, default=0,
        help="federation TLS port, part of the server name (0: kept from the data dir, "
        "or any free)",
    )  # fmt: skip
    start.add_argument(
        "--appservice-registration", type=Path, action="append", default=[],
        metavar="FILE", help="an application service registration to load (repeatable)",
    )  # fmt: skip
    start.add_argument("--synapse-python", type=Path, help="a Python that has Synapse")
    start.add_argument("--timeout", type=float, default=120.0, help="start-up timeout (s)")
    install = commands.add_parser("install", help=f"install Synapse {SYNAPSE_VERSION} only")
    install.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    return parser.parse_args(argv)


def _serve(args: argparse.Namespace) -> int:
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with start_synapse(
        args.data_dir,
        appservice_files=args.appservice_registration,
        client_port=args.port,
        federation_port=args.federation_port,
        synapse_python=args.synapse_python,
        timeout=args.timeout,
    ) as synapse:
        for name in ("client_url", "federation_url", "server_name", "ca_file"):
            print(f"{name}={getattr(synapse, name)}", flush=True)
        while not stopping.wait(0.5):
            if (status := synapse.process.poll()) is not None:
                print(f"Synapse exited with status {status}\n{synapse.log_tail()}", file=sys.stderr)
                return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m tools.synapse_target`."""
    args = _parse_args(argv)
    try:
        if args.command == "install":
            print(ensure_synapse(args.venv))
            return 0
        return _serve(args)
    except SynapseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
