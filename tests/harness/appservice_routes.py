# SPDX-License-Identifier: Apache-2.0
"""The application service API as the suite's fake service serves it: routes and checks.

The routes are the versioned ones (`/_matrix/app/v1/...`) and the legacy paths the spec
lets a homeserver fall back to after a failure (unprefixed `/transactions/...`,
`/users/...`, `/rooms/...`, and `/_matrix/app/unstable/thirdparty/...`); both are served
alike. Request bodies are held to the request schemas in `api/application-service`,
compiled once per process.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator

from api import load_operations
from tests.harness.federation_routes import Route
from tests.harness.schema import OperationIndex, _format_checker, trim

V1 = "/_matrix/app/v1"
UNSTABLE = "/_matrix/app/unstable"


def _route(method: str, template: str) -> Route:
    return Route(method, template, respond=lambda *_: None, signed=False)


_THIRDPARTY = ["/thirdparty/protocol/{protocol}", "/thirdparty/user/{protocol}",
               "/thirdparty/location/{protocol}", "/thirdparty/location", "/thirdparty/user"]
# (route, kind, legacy): the versioned API and the legacy paths a homeserver may fall back to.
ROUTES: list[tuple[Route, str, bool]] = [
    (_route("PUT", V1 + "/transactions/{txnId}"), "transaction", False),
    (_route("PUT", "/transactions/{txnId}"), "transaction", True),
    (_route("POST", V1 + "/ping"), "ping", False),
    (_route("GET", V1 + "/users/{userId}"), "user_query", False),
    (_route("GET", "/users/{userId}"), "user_query", True),
    (_route("GET", V1 + "/rooms/{roomAlias}"), "alias_query", False),
    (_route("GET", "/rooms/{roomAlias}"), "alias_query", True),
    *((_route("GET", V1 + path), "thirdparty", False) for path in _THIRDPARTY),
    *((_route("GET", UNSTABLE + path), "thirdparty", True) for path in _THIRDPARTY),
]


def match_route(method: str, path: str) -> tuple[str, dict[str, str], bool] | None:
    """(kind, path parameters, legacy) of the route a request is for, if any."""
    for route, kind, legacy in ROUTES:
        params = route.match(method, path)
        if params is not None:
            return kind, params, legacy
    return None


def versioned_path(path: str) -> str:
    """The `/_matrix/app/v1` path a legacy path stands for (for the schema checks)."""
    if path.startswith(V1):
        return path
    if path.startswith(UNSTABLE):
        return V1 + path[len(UNSTABLE):]
    return V1 + path


@functools.cache
def _request_checks() -> tuple[OperationIndex, dict[str, Draft202012Validator]]:
    operations = [op for op in load_operations() if op.family == "application-service"]
    return OperationIndex(operations), {}


def schema_problem(method: str, path: str, body: Any) -> str | None:
    """Why a request body breaks its operation's schema in `api/`, or None."""
    index, validators = _request_checks()
    operation = index.match(method, versioned_path(path))
    schema = operation.request_schema if operation else None
    if schema is None:
        return None
    if operation.operation_id not in validators:
        validators[operation.operation_id] = Draft202012Validator(
            schema, format_checker=_format_checker())
    error = next(iter(validators[operation.operation_id].iter_errors(body)), None)
    if error is None:
        return None
    return (f"the body does not match the request schema of {operation.operation_id} "
            f"({operation.feature}.yaml) at {error.json_path}: {trim(error.message, 300)}")


def parse_json(raw: bytes) -> tuple[Any, str | None]:
    if not raw:
        return None, None
    try:
        return json.loads(raw), None
    except ValueError:
        return None, "the body is not JSON"
