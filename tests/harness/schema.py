# SPDX-License-Identifier: Apache-2.0
"""Checks every response the harness receives against its operation in `api/`.

A conformance suite that only asserted what each test author thought of would measure
the authors. Here every answer the server gives, to any request, is held against the
documented schema for its status, so a wrong field type or an undocumented status fails
the test that provoked it, and the operations exercised are recorded as a by-product:
coverage is measured, not claimed.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from api import Operation, load_operations
from api.formats import FORMAT_CHECKERS

JsonDict = dict[str, Any]
_PARAM = re.compile(r"\{[^}]+\}")
# Rate limiting is the server's prerogative; the client obeys it and retries, so a 429
# is only held against the spec when the operation documents one.
_TRANSIENT = 429


def compile_template(template: str) -> re.Pattern[str]:
    """A regex for a raw (percent-encoded) path; a parameter is one segment.

    Parameters may be empty so that `/state/{eventType}/{stateKey}` matches the empty
    state key the spec allows (a trailing slash).
    """
    parts = _PARAM.split(template)
    return re.compile("^" + "[^/]*".join(re.escape(part) for part in parts) + "$")


def specificity(template: str) -> tuple[int, ...]:
    """Sort key putting literal segments before parameters, segment by segment."""
    return tuple(1 if _PARAM.search(seg) else 0 for seg in template.split("/"))


class OperationIndex:
    """Finds the operation a request hit, from its method and raw path."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self._routes: dict[str, list[tuple[re.Pattern[str], Operation]]] = {}
        for operation in sorted(operations, key=lambda op: specificity(op.path)):
            route = (compile_template(operation.path), operation)
            self._routes.setdefault(operation.method, []).append(route)
        self.features = frozenset(op.feature for op in operations)

    def match(self, method: str, raw_path: str) -> Operation | None:
        path = raw_path.split("?", 1)[0]
        for pattern, operation in self._routes.get(method.upper(), ()):
            if pattern.match(path):
                return operation
        return None


@dataclass
class Recorder:
    """The operations one test's requests hit, in order, one entry per request.

    The plugin calls `begin` before each test and reads the lists afterwards; the
    client reports every response here through the checker.
    """

    calls: list[tuple[str, str]] = field(default_factory=list)  # (operationId, feature)
    unknown: list[str] = field(default_factory=list)  # "GET /path" outside api/

    def begin(self) -> None:
        self.calls = []
        self.unknown = []

    def operation_ids(self) -> list[str]:
        """Distinct operationIds in first-seen order."""
        return list(dict.fromkeys(op_id for op_id, _ in self.calls))

    def features(self) -> list[str]:
        return [feature for _, feature in self.calls]


RECORDER = Recorder()


def _format_checker() -> FormatChecker:
    """The standard formats plus the Matrix ones from `api/formats.py`."""
    checker = FormatChecker()
    for name, is_valid in FORMAT_CHECKERS.items():
        checker.checks(name)(_strings_only(is_valid))
    return checker


def _strings_only(is_valid: Any) -> Any:
    # JSON Schema formats constrain strings only; other types are the `type` keyword's job.
    return lambda value: not isinstance(value, str) or is_valid(value)


def trim(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _document_of(operation: Operation) -> str:
    return f"api/{operation.feature}.yaml"


class ResponseChecker:
    """Validates responses against `api/` and records what was exercised."""

    def __init__(self, operations: Sequence[Operation], recorder: Recorder = RECORDER) -> None:
        self.index = OperationIndex(operations)
        self.recorder = recorder
        self._format_checker = _format_checker()
        # Keyed by family too: operation IDs repeat across APIs (getRoomState is both a
        # client-server and a server-server operation, with different answers).
        self._validators: dict[tuple[str, str, str], Draft202012Validator] = {}

    def check(self, response: httpx.Response) -> None:
        """Fails the current test if the response breaks its operation's contract."""
        request = response.request
        raw_path = request.url.raw_path.decode("ascii")
        operation = self.index.match(request.method, raw_path)
        if operation is None:
            self.recorder.unknown.append(f"{request.method} {raw_path.split('?', 1)[0]}")
            return
        self.recorder.calls.append((operation.operation_id, operation.feature))
        problem = self.problem(operation, response)
        if problem:
            pytest.fail(problem, pytrace=False)

    def problem(self, operation: Operation, response: httpx.Response) -> str | None:
        """Why the response does not conform, or None if it does."""
        status = response.status_code
        key = _response_key(operation, status)
        exchange = f"{response.request.method} {response.request.url.path} → {status}"
        if key is None:
            if status == _TRANSIENT:
                return None
            documented = ", ".join(operation.spec.get("responses", {})) or "nothing"
            return (f"the spec does not list status {status} for {operation.operation_id} "
                    f"({_document_of(operation)} documents {documented})\n  {exchange} "
                    f"{trim(response.text)}")
        schema = _json_schema(operation, key)
        if schema is None:
            return _binary_problem(operation, key, exchange, response)
        try:
            body = json.loads(response.content)
        except ValueError:
            return (f"{exchange}: {operation.operation_id} documents a JSON body for "
                    f"{key}, but the server sent {response.headers.get('content-type')!r}: "
                    f"{trim(response.text, 200)}")
        errors = list(self._validator(operation, key, schema).iter_errors(body))
        if not errors:
            return None
        return _describe_errors(operation, key, exchange, errors, body)

    def _validator(self, operation: Operation, key: str, schema: JsonDict) -> Draft202012Validator:
        cache_key = (operation.family, operation.operation_id, key)
        validator = self._validators.get(cache_key)
        if validator is None:
            validator = Draft202012Validator(schema, format_checker=self._format_checker)
            self._validators[cache_key] = validator
        return validator


def _binary_problem(operation: Operation, key: str, exchange: str,
                    response: httpx.Response) -> str | None:
    """A documented non-JSON body (media) must say what it is: a Content-Type, and for a
    `multipart/*` answer a multipart type with a boundary. Bodies of no documented type
    (redirects, empty answers) are not held to anything."""
    documented = list((operation.spec["responses"][key].get("content") or {}))
    if not documented:
        return None
    sent = response.headers.get("content-type", "")
    if not sent:
        return (f"{exchange}: {operation.operation_id} answers a {', '.join(documented)} body "
                f"for {key}, but the server sent no Content-Type")
    multipart = [kind for kind in documented if kind.startswith("multipart/")]
    if multipart and not (sent.lower().startswith(tuple(multipart)) and "boundary=" in sent):
        return (f"{exchange}: {operation.operation_id} answers {multipart[0]} for {key}, but "
                f"the server sent Content-Type {sent!r}")
    return None


def _response_key(operation: Operation, status: int) -> str | None:
    """The `responses` key documenting this status: exact, then `4XX`, then default."""
    responses = operation.spec.get("responses", {})
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            return key
    return None


def _json_schema(operation: Operation, key: str) -> JsonDict | None:
    response = operation.spec.get("responses", {}).get(key) or {}
    media = (response.get("content") or {}).get("application/json")
    if media is None:
        return None
    return media.get("schema", {})


def _describe_errors(
    operation: Operation, key: str, exchange: str, errors: list[ValidationError], body: Any
) -> str:
    main = best_match(errors)
    where = main.json_path
    lines = [
        f"{exchange}: the body does not match the schema of {operation.operation_id} "
        f"({_document_of(operation)}, response {key})",
        f"  at {where}: {trim(main.message, 300)}",
    ]
    if len(errors) > 1:
        others = sorted({e.json_path for e in errors if e is not main})[:5]
        lines.append(f"  ({len(errors) - 1} more problem(s), at {', '.join(others)})")
    lines.append(f"  body: {trim(json.dumps(body))}")
    return "\n".join(lines)


@functools.cache
def default_checker() -> ResponseChecker:
    """The process-wide checker; `api/` is read once, validators compiled on first use."""
    try:
        operations = load_operations()
    except Exception as error:  # noqa: BLE001 - any failure makes every check impossible
        pytest.fail(f"api/ cannot be loaded, so no response can be checked: "
                    f"{type(error).__name__}: {error}", pytrace=False)
    return ResponseChecker(operations)


@functools.cache
def known_features() -> frozenset[str]:
    """Features defined in `api/`, or none if it cannot be read (results still get an area)."""
    try:
        return OperationIndex(load_operations()).features
    except Exception:  # noqa: BLE001 - the area falls back to the module's name
        return frozenset()
