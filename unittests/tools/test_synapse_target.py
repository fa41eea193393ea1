# SPDX-License-Identifier: Apache-2.0
"""The Synapse target's config generation and process handling, without Synapse.

Process handling is checked against a stand-in "Synapse" (a tiny HTTP server run by the
test's own Python), so these tests need neither the install nor the network.
"""

from __future__ import annotations

import ssl
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tools.synapse_target import (
    Layout,
    SynapseError,
    build_config,
    build_log_config,
    free_port,
    prepare_data_dir,
    rate_limits,
    start_synapse,
)

SECRETS = {"registration_shared_secret": "r", "macaroon_secret_key": "m", "form_secret": "f"}


@pytest.fixture
def config(tmp_path):
    return build_config(
        Layout.of(tmp_path),
        client_port=8008,
        federation_port=8448,
        appservice_files=[Path("as.yaml")],
        secret_values=SECRETS,
    )


def test_server_name_carries_the_federation_tls_port(config):
    """The server name is `127.0.0.1:<federation port>`, so peers find the TLS listener."""
    assert config["server_name"] == "127.0.0.1:8448"
    assert config["public_baseurl"] == "http://127.0.0.1:8008/"


def test_listeners_are_plain_client_and_tls_federation_on_loopback(config):
    """Client API over plain HTTP, federation over TLS, both bound to 127.0.0.1 only."""
    client, federation = config["listeners"]
    assert (client["port"], client["tls"], client["bind_addresses"]) == (8008, False, ["127.0.0.1"])
    assert client["resources"] == [{"names": ["client"], "compress": False}]
    assert (federation["port"], federation["tls"]) == (8448, True)
    assert federation["resources"] == [{"names": ["federation"], "compress": False}]
    assert config["tls_certificate_path"].endswith("tls.crt")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("enable_registration", True, id="open-registration"),
        pytest.param("enable_registration_without_verification", True, id="no-3pid-needed"),
        pytest.param("bcrypt_rounds", 4, id="fast-password-hashing"),
        pytest.param("room_list_publication_rules", [{"action": "allow"}], id="publish-rooms"),
        pytest.param("allow_public_rooms_without_auth", True, id="public-rooms-no-auth"),
        pytest.param("allow_public_rooms_over_federation", True, id="public-rooms-federation"),
        pytest.param("federation_verify_certificates", False, id="no-tls-verification-by-default"),
        pytest.param("federation_ip_range_blacklist", [], id="federate-over-loopback"),
        pytest.param("ip_range_whitelist", ["127.0.0.0/8", "::1"], id="loopback-allowed"),
        pytest.param("federation", {"max_long_retry_delay": "2s", "max_short_retry_delay": "1s",
                                    "destination_min_retry_interval": "2s",
                                    "destination_max_retry_interval": "10s"},
                     id="test-network-retry-timing"),
        pytest.param("trusted_key_servers", [], id="no-matrix-org-notary"),
        pytest.param("suppress_key_server_warning", True, id="quiet-key-servers"),
        pytest.param("report_stats", False, id="no-phone-home"),
        pytest.param("presence", {"enabled": True}, id="presence-on"),
        pytest.param("enable_metrics", False, id="no-metrics"),
        pytest.param("registration_shared_secret", "r", id="shared-secret-registration"),
    ],
)
def test_config_sets_what_the_suite_needs(config, key, value):
    """Each setting the suite relies on has the value it needs."""
    assert config[key] == value


def test_given_the_peers_ca_synapse_verifies_federation_certificates(tmp_path):
    """With the fake peers' CA, Synapse checks their certificates against it (and only it)."""
    ca = tmp_path / "ca.pem"
    config = build_config(Layout.of(tmp_path), client_port=8008, federation_port=8448,
                          appservice_files=[], secret_values=SECRETS, peer_ca=ca)
    assert config["federation_verify_certificates"] is True
    assert config["federation_custom_ca_list"] == [str(ca.resolve())]


def test_database_media_and_logs_live_in_the_data_dir(config, tmp_path):
    """SQLite, media and the logging config are all under the data dir."""
    assert config["database"] == {
        "name": "sqlite3",
        "args": {"database": str(tmp_path.resolve() / "homeserver.db")},
    }
    assert config["media_store_path"] == str(tmp_path.resolve() / "media_store")
    assert config["log_config"] == str(tmp_path.resolve() / "log_config.yaml")


def test_appservice_files_are_absolute(config):
    """Registration paths are made absolute: Synapse runs in the data dir."""
    assert config["app_service_config_files"] == [str(Path("as.yaml").resolve())]


FLAT_LIMITS = [
    "rc_message", "rc_registration", "rc_registration_token_validity", "rc_admin_redaction",
    "rc_joins_per_room", "rc_key_requests", "rc_3pid_validation", "rc_third_party_invite",
    "rc_media_create", "rc_delayed_event_mgmt", "rc_room_creation", "rc_reports",
    "rc_user_directory", "rc_profile",
]  # fmt: skip
NESTED_LIMITS = [
    ("rc_login", "address"), ("rc_login", "account"), ("rc_login", "failed_attempts"),
    ("rc_joins", "local"), ("rc_joins", "remote"), ("rc_invites", "per_room"),
    ("rc_invites", "per_user"), ("rc_invites", "per_issuer"), ("rc_presence", "per_user"),
]  # fmt: skip


@pytest.mark.parametrize(
    "path", [(name,) for name in FLAT_LIMITS] + NESTED_LIMITS, ids=lambda p: ".".join(p)
)
def test_every_rate_limit_is_raised(config, path):
    """Every per-second/burst limit Synapse 1.163 reads is far above the suite's pace."""
    limit = config
    for part in path:
        limit = limit[part]
    assert limit["per_second"] >= 1000 and limit["burst_count"] >= 10_000


def test_federation_rate_limit_never_delays_or_rejects(config):
    """Federation requests from the suite's homeserver are neither slowed nor refused."""
    federation = config["rc_federation"]
    assert federation["sleep_limit"] >= 10_000 and federation["reject_limit"] >= 10_000
    assert federation["concurrent"] >= 100 and federation["sleep_delay"] <= 1


def test_rate_limits_cover_only_rc_keys():
    """`rate_limits()` adds nothing but `rc_*` settings."""
    assert all(name.startswith("rc_") for name in rate_limits())


def test_log_config_writes_warnings_to_a_file(tmp_path):
    """Synapse logs WARNING and above to homeserver.log in the data dir."""
    log_config = build_log_config(Layout.of(tmp_path))
    assert log_config["root"]["level"] == "WARNING"
    handler = log_config["handlers"][log_config["root"]["handlers"][0]]
    assert handler["filename"] == str(tmp_path.resolve() / "homeserver.log")


def test_prepared_data_dir_has_key_certificate_and_parsable_config(tmp_path):
    """The data dir gets a Synapse-format signing key, a TLS chain its CA verifies, YAML."""
    layout, config = prepare_data_dir(tmp_path, client_port=0, federation_port=0)
    algorithm, version, seed = layout.signing_key.read_text().split()
    assert (algorithm, version[:2], len(seed)) == ("ed25519", "a_", 43)
    assert yaml.safe_load(layout.config.read_text()) == config
    assert yaml.safe_load(layout.log_config.read_text())["version"] == 1
    context = ssl.create_default_context(cafile=str(layout.ca_file))
    context.load_cert_chain(str(layout.tls_cert), str(layout.tls_key))
    assert all(port > 0 for port in (listener["port"] for listener in config["listeners"]))


def test_restarting_a_data_dir_keeps_its_identity(tmp_path):
    """A second start keeps the server name, signing key and secrets (its DB stays valid)."""
    layout, first = prepare_data_dir(tmp_path)
    key = layout.signing_key.read_text()
    _, second = prepare_data_dir(tmp_path)
    assert second["server_name"] == first["server_name"]
    assert second["macaroon_secret_key"] == first["macaroon_secret_key"]
    assert layout.signing_key.read_text() == key


def test_a_data_dir_refuses_another_federation_port(tmp_path):
    """Asking for a different federation port would rename the server: refused, with why."""
    _, config = prepare_data_dir(tmp_path)
    taken = int(config["server_name"].rsplit(":", 1)[1])
    with pytest.raises(SynapseError, match="belongs to server"):
        prepare_data_dir(tmp_path, federation_port=taken + 1)


def test_free_port_can_be_bound():
    """`free_port()` names a loopback port nothing is listening on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


# A stand-in for `python -m synapse.app.homeserver --config-path FILE`: serves
# /_matrix/client/versions on the configured client port until SIGTERM.
FAKE_SYNAPSE = textwrap.dedent(
    """
    import http.server, signal, sys, yaml
    config = yaml.safe_load(open(sys.argv[-1]))
    class Versions(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/_matrix/client/versions" else 404)
            self.end_headers()
            self.wfile.write(b'{"versions": ["v1.11"]}')
    server = http.server.HTTPServer(("127.0.0.1", config["listeners"][0]["port"]), Versions)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()
    """
)


def _fake_python(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake_python"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def test_start_waits_for_versions_and_stop_terminates(tmp_path):
    """`start_synapse` returns once /versions answers; `stop()` ends the process."""
    (tmp_path / "fake_synapse.py").write_text(FAKE_SYNAPSE)
    python = _fake_python(tmp_path, f'exec {sys.executable} {tmp_path}/fake_synapse.py "$@"')
    with start_synapse(tmp_path / "data", synapse_python=python, timeout=30) as synapse:
        assert synapse.client_url.startswith("http://127.0.0.1:")
        assert synapse.federation_url == "https://" + synapse.server_name
        assert synapse.process.poll() is None
    assert synapse.process.returncode == 0


def test_start_reports_an_early_exit_with_its_output(tmp_path):
    """If "Synapse" dies while starting, the error carries its exit status and output."""
    python = _fake_python(tmp_path, "echo 'config is broken' >&2; exit 3")
    with pytest.raises(SynapseError, match=r"(?s)status 3.*config is broken"):
        start_synapse(tmp_path / "data", synapse_python=python, timeout=30)
