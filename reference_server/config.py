# SPDX-License-Identifier: Apache-2.0
"""The server's configuration: command-line flags over a TOML file over defaults.

The flag names and TOML keys are a contract that tools and the suite rely on (see the
README); add keys freely, rename none.
"""
from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from api.formats import is_server_name


@dataclass
class Config:
    server_name: str = "localhost"
    listen: str = "127.0.0.1:8008"
    federation_listen: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    data_dir: Path = Path("./data")
    database: str | None = None  # None → SQLite in the data dir
    registration_open: bool = True
    federation_verify_tls: bool = True
    federation_ca_file: Path | None = None
    federation_allow_private_addresses: bool = False
    # Where other servers should send this server name's federation traffic (host or
    # host:port), served at /.well-known/matrix/server; None serves 404 there.
    federation_well_known_server: str | None = None
    rate_limits_enabled: bool = True
    appservice_registration_files: list[Path] = field(default_factory=list)
    enabled_mscs: set[int] = field(default_factory=set)
    password_time_cost: int = 2
    password_memory_kib: int = 19456
    max_upload_bytes: int = 50 * 1024 * 1024  # [media] max_upload_bytes

    @property
    def database_target(self) -> Path | str:
        """The SQLite file (`sqlite:///PATH`, a bare path, or by default in the data dir),
        or the `postgresql://` URL as given."""
        if not self.database:
            return self.data_dir / "homeserver.db"
        if self.database.startswith("sqlite:///"):
            return Path(self.database[len("sqlite:///"):])
        if self.database.startswith(("postgresql://", "postgres://")):
            return self.database
        if "://" in self.database:
            raise SystemExit(f"unsupported database URL {self.database!r}: use sqlite:///PATH "
                             "or postgresql://USER@HOST:PORT/DBNAME")
        return Path(self.database)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m reference_server", description="The Matrix reference homeserver."
    )
    parser.add_argument("--server-name", help="the server name in user IDs (default: localhost)")
    parser.add_argument("--listen", help="HOST:PORT for client and federation over HTTP")
    parser.add_argument("--federation-listen", help="HOST:PORT for federation over TLS")
    parser.add_argument("--tls-cert", type=Path, help="certificate for --federation-listen")
    parser.add_argument("--tls-key", type=Path, help="private key for --federation-listen")
    parser.add_argument("--data-dir", type=Path, help="database, signing key, media (./data)")
    parser.add_argument("--database", help="sqlite:///PATH or postgresql://USER@HOST:PORT/DBNAME "
                        "(default: SQLite in the data dir)")
    parser.add_argument("--config", type=Path, help="TOML file with everything else")
    return parser.parse_args(argv)


def load_config(args: argparse.Namespace) -> Config:
    """Merge defaults, the TOML file and the flags, in that order of precedence (lowest first)."""
    config = Config()
    if args.config:
        _apply_toml(config, tomllib.loads(args.config.read_text(encoding="utf-8")), args.config)
    for flag in ("server_name", "listen", "federation_listen", "tls_cert", "tls_key",
                 "data_dir", "database"):
        value = getattr(args, flag)
        if value is not None:
            setattr(config, flag, value)
    return config


def _apply_toml(config: Config, data: dict, source: Path) -> None:
    base = source.parent
    server = data.get("server", {})
    for key in ("server_name", "listen", "federation_listen", "database"):
        if key in server:
            setattr(config, key, server[key])
    if "data_dir" in server:
        config.data_dir = base / server["data_dir"]
    config.registration_open = data.get("registration", {}).get("open", config.registration_open)
    federation = data.get("federation", {})
    config.federation_verify_tls = federation.get("verify_tls", config.federation_verify_tls)
    if "ca_file" in federation:
        config.federation_ca_file = base / federation["ca_file"]
    config.federation_allow_private_addresses = federation.get(
        "allow_private_addresses", config.federation_allow_private_addresses
    )
    delegated = federation.get("well_known_server")
    if delegated is not None:
        if not isinstance(delegated, str) or not is_server_name(delegated):
            raise SystemExit(f"{source}: [federation] well_known_server must be a server "
                             f"name such as \"matrix.example.org:443\", not {delegated!r}")
        config.federation_well_known_server = delegated
    config.rate_limits_enabled = data.get("rate_limits", {}).get("enabled", True)
    files = data.get("appservices", {}).get("registration_files", [])
    config.appservice_registration_files = [base / f for f in files]
    config.enabled_mscs = {int(n) for n in data.get("msc", {}).get("enabled", [])}
    max_upload = data.get("media", {}).get("max_upload_bytes", config.max_upload_bytes)
    if not isinstance(max_upload, int) or isinstance(max_upload, bool) or max_upload < 1:
        raise SystemExit(f"{source}: [media] max_upload_bytes must be a positive integer")
    config.max_upload_bytes = max_upload
    passwords = data.get("passwords", {})
    config.password_time_cost = int(passwords.get("argon2_time_cost", config.password_time_cost))
    config.password_memory_kib = int(passwords.get("argon2_memory_kib",
                                                   config.password_memory_kib))
