# SPDX-License-Identifier: Apache-2.0
"""What a test needs from the target, from its markers, against what `/versions` says.

The suite never decides by server brand: a test declares `spec("1.11")` or `msc(4133)`
and runs wherever the target advertises that. When it does not, the test is skipped with
a reason naming exactly what was missing, so a skip is never silent.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

JsonDict = dict[str, Any]
_VERSION = re.compile(r"^[vr]?(\d+(?:\.\d+)*)$")


def version_tuple(text: str) -> tuple[int, ...] | None:
    """`v1.11` → (1, 11); `r0.6.1` → (0, 6, 1); anything else → None."""
    match = _VERSION.match(text.strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def missing_spec_version(required: str, versions: JsonDict) -> str | None:
    """Why a `spec(required)` test cannot run here, or None if the target is recent enough."""
    wanted = version_tuple(str(required))
    if wanted is None:
        raise ValueError(f"spec marker needs a version such as '1.11', not {required!r}")
    advertised = [v for v in versions.get("versions") or [] if isinstance(v, str)]
    parsed = [t for t in map(version_tuple, advertised) if t is not None and t[0] >= 1]
    if any(t >= wanted for t in parsed):
        return None
    return (f"needs spec v{'.'.join(map(str, wanted))} or later; the target's /versions "
            f"lists {', '.join(advertised) or 'no versions'}")


def missing_msc(number: int, versions: JsonDict) -> str | None:
    """Why an `msc(N)` test cannot run: no `unstable_features` key naming it set to true."""
    needle = f"msc{int(number)}"
    features = versions.get("unstable_features") or {}
    if any(needle in key.lower() and value is True for key, value in features.items()):
        return None
    return (f"needs MSC{int(number)}; the target's /versions has no unstable_features "
            f"key containing {needle!r} set to true")


def markers_needing_versions(markers: Iterable[Any]) -> list[Any]:
    return [m for m in markers if m.name in ("spec", "msc")]


def missing(markers: Iterable[Any], versions: JsonDict) -> str | None:
    """The first unmet `spec`/`msc` requirement among these markers, as a skip reason."""
    for marker in markers_needing_versions(markers):
        if not marker.args:
            raise ValueError(f"@pytest.mark.{marker.name} needs an argument")
        check = missing_spec_version if marker.name == "spec" else missing_msc
        reason = check(marker.args[0], versions)
        if reason:
            return reason
    return None
