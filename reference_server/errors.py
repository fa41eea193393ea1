# SPDX-License-Identifier: Apache-2.0
"""Errors as values: every failure a client may see is a `MatrixError`.

Services raise these; one place (`http.asgi`) turns them into the spec's error body, so the
status, errcode and message always travel together.
"""
from __future__ import annotations

from typing import Any


class MatrixError(Exception):
    """An error answer: HTTP status, the spec's errcode, a message, and optional extra fields."""

    def __init__(self, status: int, errcode: str, message: str, **extra: Any) -> None:
        super().__init__(f"{status} {errcode}: {message}")
        self.status = status
        self.errcode = errcode
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}

    def to_json(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "error": self.message, **self.extra}


def bad_json(message: str) -> MatrixError:
    return MatrixError(400, "M_BAD_JSON", message)


def not_json(message: str = "The request body is not valid JSON.") -> MatrixError:
    return MatrixError(400, "M_NOT_JSON", message)


def missing_param(message: str) -> MatrixError:
    return MatrixError(400, "M_MISSING_PARAM", message)


def invalid_param(message: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", message)


def forbidden(message: str) -> MatrixError:
    return MatrixError(403, "M_FORBIDDEN", message)


def not_found(message: str) -> MatrixError:
    return MatrixError(404, "M_NOT_FOUND", message)


def unrecognized(message: str, status: int = 404) -> MatrixError:
    return MatrixError(status, "M_UNRECOGNIZED", message)


def missing_token() -> MatrixError:
    return MatrixError(401, "M_MISSING_TOKEN", "This request needs an access token.")


def unknown_token(message: str = "The access token is not recognised.") -> MatrixError:
    return MatrixError(401, "M_UNKNOWN_TOKEN", message, soft_logout=False)


def user_in_use(message: str = "That user ID is already taken.") -> MatrixError:
    return MatrixError(400, "M_USER_IN_USE", message)


def invalid_username(message: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_USERNAME", message)


def too_large(message: str) -> MatrixError:
    return MatrixError(413, "M_TOO_LARGE", message)


def unknown(message: str, status: int = 400) -> MatrixError:
    return MatrixError(status, "M_UNKNOWN", message)


def limit_exceeded(retry_after_ms: int) -> MatrixError:
    error = MatrixError(
        429, "M_LIMIT_EXCEEDED", "Too many requests; slow down.", retry_after_ms=retry_after_ms
    )
    error.headers["Retry-After"] = str(max(1, -(-retry_after_ms // 1000)))
    return error


def unsupported_room_version(version: str) -> MatrixError:
    return MatrixError(
        400, "M_UNSUPPORTED_ROOM_VERSION", f"Room version {version!r} is not supported here."
    )


def user_deactivated() -> MatrixError:
    return MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated.")
