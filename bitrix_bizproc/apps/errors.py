"""Why a request to the app's handler URL was refused; adapters answer 401, 400 and 404 for them.

::

    BitrixError
    ├── AuthError
    │   └── ForgedRequestError     auth[application_token] is missing or not the one saved at install (401)
    ├── ValidationError
    │   └── MalformedRequestError  the body is not what the portal sends (400)
    └── NotFoundError
        └── UnknownRobotError      no robot or activity of this app has that code (404)
"""

from __future__ import annotations

from typing import Any

from ..protocol.errors import AuthError, NotFoundError, ValidationError

__all__ = ["ForgedRequestError", "MalformedRequestError", "UnknownRobotError"]


class ForgedRequestError(AuthError):
    """The request does not carry this portal's application token: it did not come from the portal."""

    http_status = 401

    def __init__(self, description: str = "", **details: Any) -> None:
        details.setdefault("code", "FORGED_REQUEST")
        super().__init__(description, **details)


class MalformedRequestError(ValidationError):
    """The request is not a well-formed portal call (missing fields, wrong types, undecodable body)."""

    http_status = 400

    def __init__(self, description: str = "", **details: Any) -> None:
        details.setdefault("code", "MALFORMED_REQUEST")
        super().__init__(description, **details)


class UnknownRobotError(NotFoundError):
    """The portal called a robot or activity code this app does not declare."""

    http_status = 404

    def __init__(self, description: str = "", **details: Any) -> None:
        details.setdefault("code", "UNKNOWN_ROBOT")
        super().__init__(description, **details)
