# SPDX-License-Identifier: Apache-2.0
"""Loads the project's OpenAPI documents and flattens them into operations.

Both the reference server (routes, request validators) and the suite (response checks,
coverage) read `api/` through this module, so the two can never disagree on what a
document says. It knows OpenAPI, not Matrix: it resolves `$ref`s across files and lists
each operation with its full path.
"""
from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

API_ROOT = Path(__file__).resolve().parent
FAMILIES = ("client-server", "server-server", "application-service")

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One HTTP operation of one document, with every `$ref` resolved."""

    operation_id: str
    method: str  # upper case
    path: str  # full path template, e.g. /_matrix/client/v3/rooms/{roomId}/join
    family: str  # client-server, server-server, application-service
    feature: str  # the document's name, e.g. "client-server/joining"
    spec: JsonDict = field(repr=False, compare=False, hash=False)
    msc: int | None = None

    @property
    def auth(self) -> str:
        """'required', 'optional' or 'none', from the operation's `security` list."""
        requirements = self.spec.get("security", [])
        schemes = [name for req in requirements for name in req]
        if not schemes:
            return "none"
        return "optional" if any(not req for req in requirements) else "required"

    @property
    def security_schemes(self) -> list[str]:
        return [name for req in self.spec.get("security", []) for name in req]

    def parameters(self, location: str) -> list[JsonDict]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == location]

    @property
    def request_schema(self) -> JsonDict | None:
        body = self.spec.get("requestBody")
        if not body:
            return None
        return body.get("content", {}).get("application/json", {}).get("schema")

    @property
    def request_body_required(self) -> bool:
        return bool(self.spec.get("requestBody", {}).get("required", False))

    def response_schema(self, status: int) -> JsonDict | None:
        """The JSON schema of the answer with this status, or None if undocumented."""
        responses = self.spec.get("responses", {})
        response = responses.get(str(status))
        if response is None:
            return None
        content = response.get("content", {})
        media = content.get("application/json")
        if media is None:
            return {}
        return media.get("schema", {})

    def documents_status(self, status: int) -> bool:
        return str(status) in self.spec.get("responses", {})


# libyaml's parser, when PyYAML was built with it, is about ten times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_LOADER)  # noqa: S506 — a safe loader


class _Resolver:
    """Inlines `$ref`s: relative file references and JSON pointers into them."""

    def __init__(self) -> None:
        self._files: dict[Path, Any] = {}

    def document(self, path: Path) -> Any:
        path = path.resolve()
        if path not in self._files:
            self._files[path] = _load_yaml(path)
        return self._files[path]

    def resolve(self, node: Any, base: Path, stack: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.resolve(item, base, stack) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target, target_base, key = self._follow(node["$ref"], base)
            if key in stack:
                raise ValueError(f"recursive $ref {key} (not allowed in api/)")
            resolved = self.resolve(copy.deepcopy(target), target_base, stack + (key,))
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(resolved, dict):
                resolved = {**resolved, **self.resolve(siblings, base, stack)}
            return resolved
        return {key: self.resolve(value, base, stack) for key, value in node.items()}

    def _follow(self, ref: str, base: Path) -> tuple[Any, Path, str]:
        file_part, _, pointer = ref.partition("#")
        target_file = (base.parent / file_part).resolve() if file_part else base.resolve()
        node = self.document(target_file)
        for token in [t for t in pointer.split("/") if t]:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node, target_file, f"{target_file}#{pointer}"


def document_paths(root: Path = API_ROOT) -> list[Path]:
    """Every OpenAPI document (not definitions) under `root`, in a stable order."""
    found: list[Path] = []
    for family in FAMILIES:
        folder = root / family
        if folder.is_dir():
            found.extend(sorted(p for p in folder.glob("*.yaml")))
    return found


def base_path(document: JsonDict) -> str:
    servers = document.get("servers") or [{}]
    return servers[0].get("variables", {}).get("basePath", {}).get("default", "")


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@functools.lru_cache(maxsize=4)
def load_operations(root: Path = API_ROOT) -> tuple[Operation, ...]:
    """All operations of all documents, `$ref`s resolved."""
    resolver = _Resolver()
    operations: list[Operation] = []
    for path in document_paths(root):
        raw = resolver.document(path)
        document = resolver.resolve(raw, path)
        family = path.parent.name
        feature = f"{family}/{path.stem}"
        prefix = base_path(document)
        msc = document.get("x-msc")
        for template, item in (document.get("paths") or {}).items():
            shared_params = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                spec = dict(item[method])
                spec["parameters"] = shared_params + spec.get("parameters", [])
                operations.append(
                    Operation(
                        operation_id=spec["operationId"],
                        method=method.upper(),
                        path=prefix + template,
                        family=family,
                        feature=feature,
                        spec=spec,
                        msc=int(msc) if msc is not None else None,
                    )
                )
    return tuple(operations)


_PARAM = re.compile(r"\{([^}]+)\}")


def path_regex(template: str) -> re.Pattern[str]:
    """A regex matching a raw (still percent-encoded) request path against a template."""
    pattern = ""
    position = 0
    optional_tail = template.endswith(_OPTIONAL_TAIL)
    if optional_tail:
        template = template[: -len(_OPTIONAL_TAIL)]
    for match in _PARAM.finditer(template):
        pattern += re.escape(template[position : match.start()])
        pattern += f"(?P<{_group_name(match.group(1))}>[^/]+)"
        position = match.end()
    pattern += re.escape(template[position:])
    if optional_tail:
        # The spec lets clients omit an empty state key: `/state/{eventType}` and
        # `/state/{eventType}/` both mean state key "".
        pattern += "(?:/(?P<stateKey>[^/]*))?"
    return re.compile(f"^{pattern}$")


_OPTIONAL_TAIL = "/{stateKey}"


def _group_name(name: str) -> str:
    return re.sub(r"\W", "_", name)


def template_params(template: str) -> list[str]:
    return _PARAM.findall(template)
