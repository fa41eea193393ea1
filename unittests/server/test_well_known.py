# SPDX-License-Identifier: Apache-2.0
"""/.well-known/matrix/server: served from `[federation] well_known_server`, else 404."""
from __future__ import annotations

import argparse

import httpx
import pytest

from reference_server.config import load_config

from .conftest import start_server, stop_server


def _args(config_path) -> argparse.Namespace:
    return argparse.Namespace(config=config_path, server_name=None, listen=None,
                              federation_listen=None, tls_cert=None, tls_key=None,
                              data_dir=None, database=None)


def test_the_config_key_is_read(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[federation]\nwell_known_server = "matrix.example.org:443"\n')
    assert load_config(_args(path)).federation_well_known_server == "matrix.example.org:443"


@pytest.mark.parametrize("value", ['"https://matrix.example.org"', '"bad host:1"', "443"])
def test_a_value_that_is_not_a_server_name_stops_start_up(tmp_path, value) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[federation]\nwell_known_server = {value}\n")
    with pytest.raises(SystemExit, match="well_known_server"):
        load_config(_args(path))


def test_the_delegation_is_served_when_configured(tmp_path) -> None:
    server = start_server(
        tmp_path, more_config='[federation]\nwell_known_server = "matrix.example.org:8448"\n')
    try:
        response = httpx.get(f"{server.url}/.well-known/matrix/server")
    finally:
        stop_server(server)
    assert response.status_code == 200, response.text
    assert response.json() == {"m.server": "matrix.example.org:8448"}
    assert response.headers["content-type"].startswith("application/json")


def test_nothing_is_served_without_the_key(server) -> None:
    assert httpx.get(f"{server.url}/.well-known/matrix/server").status_code == 404
