# SPDX-License-Identifier: Apache-2.0
"""Checks the OpenAPI documents under `api/` against the conventions in `api/README.md`.

The reference server compiles its routes and validators from these documents and the suite
validates every response against them, so a mistake here becomes a wrong server or a wrong
test. Each check returns a list of readable problems (empty when the document is fine);
`main()` runs them all and exits non-zero if any problem was found. The unit tests in
`unittests/test_api_documents.py` run the same checks, one test per check and document.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from openapi_spec_validator import validate as validate_openapi

from api import API_ROOT, FAMILIES, HTTP_METHODS, _Resolver, base_path, document_paths
from api.formats import FORMAT_CHECKERS

JsonDict = dict[str, Any]

# Schema keywords whose value is one schema, a list of schemas, or a map of name -> schema.
_ONE_SCHEMA = ("items", "additionalProperties", "not", "contains", "propertyNames", "if",
               "then", "else", "unevaluatedItems", "unevaluatedProperties")
_SCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


def _format_checker() -> jsonschema.FormatChecker:
    """JSON Schema's standard formats plus the Matrix ones, so examples are held to both."""
    checker = jsonschema.FormatChecker()
    for name, check in FORMAT_CHECKERS.items():
        checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
    return checker


FORMAT_CHECKER = _format_checker()


def _name(path: Path) -> str:
    """The path as the problem messages show it: relative to `api/` when it is in there."""
    resolved = path.resolve()
    return resolved.relative_to(API_ROOT).as_posix() if resolved.is_relative_to(API_ROOT) else str(path)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _operations(document: JsonDict) -> Iterator[tuple[str, str, JsonDict]]:
    """(method, path template, operation) for every operation of a document."""
    for template, item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and method in item:
                yield method.upper(), template, item[method]


# (1) OpenAPI validity ------------------------------------------------------------------

def check_openapi(path: Path) -> list[str]:
    """The document is valid OpenAPI 3.1 and its `$ref`s resolve (relative to the file)."""
    try:
        document = _load(path)
        if document.get("openapi") != "3.1.0":
            return [f"{_name(path)}: `openapi` must be 3.1.0, not {document.get('openapi')!r}"]
        validate_openapi(document, base_uri=path.resolve().as_uri())
    except Exception as error:  # the validator raises several unrelated exception types
        return [f"{_name(path)}: not valid OpenAPI 3.1: {type(error).__name__}: {str(error)[:500]}"]
    return []


# (2) Examples --------------------------------------------------------------------------

def _example_errors(schema: JsonDict, value: Any, where: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    return [f"{where}: example does not match its schema: {error.message}"
            f" (at /{'/'.join(map(str, error.absolute_path))})"
            for error in validator.iter_errors(value)]


def _walk_schema(schema: Any, where: str) -> list[str]:
    """Checks `example` and `examples` of a schema and of every schema nested in it."""
    if not isinstance(schema, dict):
        return []
    problems = []
    if "example" in schema:
        problems += _example_errors(schema, schema["example"], f"{where} (schema example)")
    for index, value in enumerate(schema.get("examples") or []):
        problems += _example_errors(schema, value, f"{where} (schema examples[{index}])")
    for key in _ONE_SCHEMA:
        problems += _walk_schema(schema.get(key), f"{where}/{key}")
    for key in _SCHEMA_LIST:
        for index, sub in enumerate(schema.get(key) or []):
            problems += _walk_schema(sub, f"{where}/{key}/{index}")
    for key in _SCHEMA_MAP:
        for name, sub in (schema.get(key) or {}).items():
            problems += _walk_schema(sub, f"{where}/{key}/{name}")
    return problems


def _walk_holder(holder: JsonDict, where: str) -> list[str]:
    """A media type or parameter: its schema, plus its own `example` / `examples` map."""
    schema = holder.get("schema")
    if not isinstance(schema, dict):
        return []
    problems = _walk_schema(schema, f"{where}/schema")
    if "example" in holder:
        problems += _example_errors(schema, holder["example"], f"{where} (example)")
    for name, example in (holder.get("examples") or {}).items():
        if "value" in example:
            problems += _example_errors(schema, example["value"], f"{where} (examples/{name})")
    return problems


def check_examples(path: Path) -> list[str]:
    """Every example in the document (and in the definitions it uses) matches its schema.

    Examples are what readers copy and what the suite's own unit tests feed the server, so a
    wrong example teaches the wrong thing. `$ref`s are inlined first.
    """
    try:
        document = _Resolver().resolve(_load(path), path)
    except Exception as error:
        return [f"{_name(path)}: cannot resolve $refs: {type(error).__name__}: {error}"]
    problems: list[str] = []
    for template, item in (document.get("paths") or {}).items():
        for parameter in item.get("parameters", []):
            problems += _walk_holder(parameter, f"{_name(path)} {template} parameter {parameter.get('name')}")
    for method, template, operation in _operations(document):
        where = f"{_name(path)} {method} {template}"
        for parameter in operation.get("parameters", []):
            problems += _walk_holder(parameter, f"{where} parameter {parameter.get('name')}")
        body = (operation.get("requestBody") or {}).get("content", {})
        for media_type, media in body.items():
            problems += _walk_holder(media, f"{where} request {media_type}")
        for status, response in (operation.get("responses") or {}).items():
            for media_type, media in (response.get("content") or {}).items():
                problems += _walk_holder(media, f"{where} {status} {media_type}")
    for name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
        problems += _walk_schema(schema, f"{_name(path)} components/schemas/{name}")
    return problems


def check_definition_examples(path: Path) -> list[str]:
    """Like `check_examples`, for a definitions file (a map of schema name -> schema)."""
    try:
        definitions = _Resolver().resolve(_load(path), path)
    except Exception as error:
        return [f"{_name(path)}: cannot resolve $refs: {type(error).__name__}: {error}"]
    return [problem for name, schema in (definitions or {}).items()
            for problem in _walk_schema(schema, f"{_name(path)}#/{name}")]


def definition_paths(root: Path = API_ROOT) -> list[Path]:
    return [p for family in FAMILIES for p in sorted((root / family / "definitions").glob("*.yaml"))]


# (3) Unique operationIds ---------------------------------------------------------------

def check_unique_operation_ids(paths: list[Path]) -> list[str]:
    """No operationId appears twice within an API family: handlers and coverage are keyed
    by (family, operationId). The spec itself reuses IDs across families (getPublicRooms is
    both a client-server and a server-server operation), so families are checked apart."""
    seen: dict[tuple[str, str], str] = {}
    problems = []
    for path in paths:
        for method, template, operation in _operations(_load(path)):
            operation_id = (path.parent.name, operation.get("operationId"))
            here = f"{_name(path)} {method} {template}"
            if operation_id in seen:
                problems.append(f"operationId {operation_id[1]!r} used twice in {operation_id[0]}: "
                                f"{seen[operation_id]} and {here}")
            seen.setdefault(operation_id, here)
    return problems


# (4) Formats ---------------------------------------------------------------------------

def _formats(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            yield node["format"]
        for value in node.values():
            yield from _formats(value)
    elif isinstance(node, list):
        for value in node:
            yield from _formats(value)


def check_formats(path: Path) -> list[str]:
    """Every `mx-*` format has a checker; otherwise it would silently check nothing."""
    unknown = sorted({f for f in _formats(_load(path)) if f.startswith("mx-") and f not in FORMAT_CHECKERS})
    return [f"{_name(path)}: format {name!r} has no checker in api/formats.py" for name in unknown]


# (5) Operation conventions -------------------------------------------------------------

def check_conventions(path: Path) -> list[str]:
    """The fields the server, the suite and the coverage report rely on are all present."""
    document = _load(path)
    name = _name(path)
    problems = []
    prefix = base_path(document)
    if not prefix.startswith("/") or (document.get("servers") or [{}])[0].get("url") != "{basePath}":
        problems.append(f"{name}: servers[0] must be url '{{basePath}}' with a basePath default starting with '/'")
    declared = set((document.get("components") or {}).get("securitySchemes") or {})
    for method, template, operation in _operations(document):
        where = f"{name} {method} {template}"
        for key in ("operationId", "tags", "summary", "description", "x-addedInMatrixVersion", "responses"):
            if not operation.get(key):
                problems.append(f"{where}: missing {key}")
        if "security" not in operation:  # `[]` (no authentication) must be said, not implied
            problems.append(f"{where}: missing an explicit security list")
            continue
        version = operation.get("x-addedInMatrixVersion")
        if version and not re.fullmatch(r"[0-9]+\.[0-9]+", str(version)):
            problems.append(f"{where}: x-addedInMatrixVersion {version!r} is not like '1.7'")
        schemes = {scheme for requirement in operation["security"] for scheme in requirement}
        for scheme in sorted(schemes - declared):
            problems.append(f"{where}: security scheme {scheme!r} not declared in components.securitySchemes")
        if schemes and not any(requirement == {} for requirement in operation["security"]):
            if "401" not in (operation.get("responses") or {}):
                problems.append(f"{where}: requires authentication but documents no 401")
    return problems


PER_DOCUMENT_CHECKS = (check_openapi, check_examples, check_formats, check_conventions)
PER_DEFINITIONS_CHECKS = (check_definition_examples, check_formats)


def run(check: Callable[[Any], list[str]], subject: Any) -> list[str]:
    """Runs one check, turning a crash (unreadable YAML, a broken `$ref`) into a problem."""
    try:
        return check(subject)
    except Exception as error:
        where = _name(subject) if isinstance(subject, Path) else "api/"
        return [f"{where}: {check.__name__} could not run: {type(error).__name__}: {error}"]


def main() -> int:
    """Runs every check on every document; prints the problems; returns the exit status."""
    documents = document_paths()
    problems = [p for path in documents for check in PER_DOCUMENT_CHECKS for p in run(check, path)]
    for path in definition_paths():
        problems += [p for check in PER_DEFINITIONS_CHECKS for p in run(check, path)]
    problems += run(check_unique_operation_ids, documents)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(documents)} documents checked, {len(problems)} problem(s).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
