# SPDX-License-Identifier: Apache-2.0
"""Request validators compiled once per operation from `api/`.

Bodies, query strings and path parameters are checked at the edge with compiled
validators (jsonschema-rs) and failures are mapped to the spec's errors, so handlers only
ever see values of the documented shapes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import jsonschema_rs

from api import Operation
from api.formats import FORMAT_CHECKERS

from .. import errors
from ..types import JsonDict


def _compile(schema: JsonDict) -> Any:
    return jsonschema_rs.validator_for(schema, formats=FORMAT_CHECKERS, validate_formats=True)


def _first_error(validator: Any, value: Any) -> Any | None:
    for error in validator.iter_errors(value):
        return error
    return None


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.instance_path) or "(body)"
    return f"{where}: {error.message}"


@dataclass
class _Param:
    name: str
    required: bool
    schema: JsonDict
    validator: Any


class OperationValidator:
    """Parses and validates the three inputs of one operation."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self._path = [self._param(p) for p in operation.parameters("path")]
        self._query = [self._param(p) for p in operation.parameters("query")]
        schema = operation.request_schema
        self._body = _compile(schema) if schema is not None else None
        self.has_body = schema is not None
        # A request body documented in another type than JSON (an upload) reaches the
        # handler as the bytes sent.
        self.takes_raw_body = schema is None and bool(operation.spec.get("requestBody"))

    @staticmethod
    def _param(spec: JsonDict) -> _Param:
        schema = spec.get("schema", {"type": "string"})
        return _Param(spec["name"], bool(spec.get("required")), schema, _compile(schema))

    def path_params(self, raw: dict[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for param in self._path:
            value = unquote(raw.get(param.name.replace(".", "_")) or "")
            if not param.validator.is_valid(value):
                raise errors.invalid_param(f"Path parameter {param.name} is malformed: {value!r}")
            values[param.name] = value
        return values

    def query_params(self, query: dict[str, list[str]]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for param in self._query:
            raw = query.get(param.name)
            if not raw:
                if param.required:
                    raise errors.missing_param(f"Query parameter {param.name} is required.")
                continue
            value: Any = _coerce(raw, param.schema)
            if value is _INVALID or not param.validator.is_valid(value):
                raise errors.invalid_param(f"Query parameter {param.name} is invalid: {raw[-1]!r}")
            values[param.name] = value
        return values

    def body(self, raw: bytes) -> JsonDict:
        if not self.has_body:
            return {}
        if not raw.strip():
            # Lenient on purpose: many clients send no body where the spec wants `{}`.
            raw = b"{}"
        try:
            value = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError):
            raise errors.not_json() from None
        if not isinstance(value, dict):
            # Valid JSON of the wrong shape: M_BAD_JSON, not M_NOT_JSON (common error codes).
            raise errors.bad_json("The request body must be a JSON object.")
        error = _first_error(self._body, value)
        if error is not None:
            raise _body_error(error)
        return value


_INVALID = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _coerce(raw: list[str], schema: JsonDict) -> Any:
    kind = schema.get("type")
    if kind == "array":
        return [_coerce([item], schema.get("items", {})) for item in raw]
    text = raw[-1]
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return _INVALID
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return _INVALID
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, _INVALID)
    return text


def _body_error(error: Any) -> errors.MatrixError:
    kind = type(error.kind).__name__
    if kind == "Required" and not error.instance_path:
        return errors.missing_param(_describe(error))
    return errors.bad_json(_describe(error))
