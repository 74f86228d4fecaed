"""The one redaction helper: secrets out of every message, repr and log line this library builds.

Pattern-based masking (webhook codes in ``/rest/<id>/<code>`` paths, plain or percent-encoded, and
token-like query parameters) runs on every error description when the error is built; the exact secrets
of a client (webhook code, tokens, client secret) are masked where they are known: the session scrubs
each error with them before it leaves (:meth:`~bitrix_bizproc.protocol.errors.BitrixError.scrub`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

__all__ = ["MASK", "redact"]

MASK = "***"

_WEBHOOK_IN_TEXT = re.compile(r"(/rest/[^/\s?#]+/)(?!<)[^/\s?#\"']+")  # (?!<): keep "<code>" placeholders
_WEBHOOK_ENCODED = re.compile(r"(%2Frest%2F[^%\s?#&\"']+%2F)[^%\s?#&\"'/]+", re.IGNORECASE)
_SECRET_PARAMS = re.compile(
    r"((?:^|[?&;\s\"'])(?:auth|access_token|refresh_token|client_secret|code|password)=)[^&\s\"'#]+",
    re.IGNORECASE,
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with webhook codes, token parameters and each of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
            encoded = quote(secret, safe="")
            if encoded != secret:
                text = text.replace(encoded, MASK)
    text = _WEBHOOK_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)
    text = _WEBHOOK_ENCODED.sub(lambda m: m.group(1) + MASK, text)
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + MASK, text)
