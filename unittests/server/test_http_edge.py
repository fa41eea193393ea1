# SPDX-License-Identifier: Apache-2.0
"""The HTTP edge: routes from api/, the spec's errors for bad input, rate limits, config."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import api
from reference_server.config import load_config, parse_args
from reference_server.http.routing import build_route_table, snake_case

from .conftest import _launch, start_server, stop_server


def test_operation_ids_map_to_snake_case_handler_names() -> None:
    assert snake_case("getRoomIdByAlias") == "get_room_id_by_alias"
    assert snake_case("logout_all") == "logout_all"
    assert snake_case("queryUserByID") == "query_user_by_id"


def test_startup_refuses_an_operation_without_handler() -> None:
    with pytest.raises(RuntimeError, match="without a handler"):
        build_route_table(api.load_operations(), {}, unimplemented={}, enabled_mscs=set())


def test_config_flags_override_the_toml_file(tmp_path: Path) -> None:
    config_file = tmp_path / "server.toml"
    config_file.write_text(
        '[server]\nserver_name = "from-file"\n[registration]\nopen = false\n'
        '[federation]\nverify_tls = false\nca_file = "ca.pem"\nallow_private_addresses = true\n'
        '[rate_limits]\nenabled = false\n[appservices]\nregistration_files = ["as.yaml"]\n'
        '[msc]\nenabled = [4133]\n')
    config = load_config(parse_args(["--config", str(config_file), "--server-name", "flag"]))
    assert config.server_name == "flag"
    assert config.registration_open is False
    assert config.federation_verify_tls is False
    assert config.federation_ca_file == tmp_path / "ca.pem"
    assert config.federation_allow_private_addresses is True
    assert config.rate_limits_enabled is False
    assert config.appservice_registration_files == [tmp_path / "as.yaml"]
    assert config.enabled_mscs == {4133}


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("edge"))
    yield running
    stop_server(running)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "errcode"),
    [
        pytest.param("GET", "/_matrix/client/v3/nonsense", None, 404, "M_UNRECOGNIZED",
                     id="unknown-path"),
        pytest.param("DELETE", "/_matrix/client/versions", None, 405, "M_UNRECOGNIZED",
                     id="wrong-method"),
        pytest.param("POST", "/_matrix/client/v3/login", b"{not json", 400, "M_NOT_JSON",
                     id="not-json"),
        pytest.param("POST", "/_matrix/client/v3/login", b"[1, 2]", 400, "M_BAD_JSON",
                     id="json-but-not-an-object"),
        pytest.param("POST", "/_matrix/client/v3/login", b'{"type": 5}', 400, "M_BAD_JSON",
                     id="wrong-type"),
        pytest.param("POST", "/_matrix/client/v3/login", b"{}", 400, "M_MISSING_PARAM",
                     id="missing-required-key"),
        pytest.param("GET", "/_matrix/client/v3/account/whoami", None, 401, "M_MISSING_TOKEN",
                     id="no-token"),
        pytest.param("GET", "/_matrix/client/v3/register/available", None, 400,
                     "M_MISSING_PARAM", id="missing-query-param"),
        pytest.param("GET", "/_matrix/client/v3/profile/not-a-user-id", None, 400,
                     "M_INVALID_PARAM", id="malformed-path-param"),
    ],
)
def test_bad_input_gets_the_spec_error(edge_server, method, path, body, status, errcode) -> None:
    answer = httpx.request(method, edge_server.url + path, content=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["errcode"] == errcode
    assert isinstance(answer.json()["error"], str)
    assert answer.headers["access-control-allow-origin"] == "*"


def test_unknown_token_is_refused(edge_server) -> None:
    answer = httpx.get(edge_server.url + "/_matrix/client/v3/account/whoami",
                       headers={"Authorization": "Bearer nope"})
    assert (answer.status_code, answer.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_rate_limited_requests_get_429_with_retry_after(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[rate_limits]\nenabled = true\n")
    server = _launch(tmp_path)
    try:
        statuses = []
        client = httpx.Client()  # one connection: the burst must outrun the refill
        for _ in range(80):
            answer = client.post(server.url + "/_matrix/client/v3/login",
                                json={"type": "m.login.password", "password": "x",
                                      "identifier": {"type": "m.id.user", "user": "nobody"}})
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                assert answer.json()["errcode"] == "M_LIMIT_EXCEEDED"
                assert answer.json()["retry_after_ms"] > 0
                assert int(answer.headers["retry-after"]) >= 1
                break
        assert 429 in statuses, f"no 429 after {len(statuses)} rapid logins: {statuses[-5:]}"
    finally:
        stop_server(server)
