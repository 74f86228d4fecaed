"""Fuzz the OAuth token server's answers and stored tokens: only typed errors, sane expiries."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc.protocol.auth import OAuthTokens, parse_token_response

from ._support import FUZZ, bodies, check_error, count, json_values, numberish

ENDPOINT = "https://portal.bitrix24.com/rest/"
tokens = st.one_of(st.text(min_size=1, max_size=20), json_values)
answers = st.one_of(
    st.fixed_dictionaries(
        {"access_token": tokens, "refresh_token": tokens},
        optional={
            "client_endpoint": st.one_of(st.just(ENDPOINT), json_values),
            "expires": numberish,
            "expires_in": numberish,
            "user_id": numberish,
            "member_id": json_values,
            "scope": json_values,
            "error": json_values,
            "error_description": json_values,
        },
    ),
    json_values,
)
YEAR = 366 * 86400.0


@FUZZ
@given(status=st.sampled_from([200, 400, 401, 500, 503]), body=bodies(answers), now=st.floats(0, 2e9))
def test_parse_token_response(status: int, body: bytes, now: float) -> None:
    count("auth.parse_token_response")
    try:
        pair = parse_token_response(status, body, now=now)
    except Exception as exc:
        # The token server's error text is not cut short yet: the message is issue 13 item 10's
        # (redaction where auth errors are built), so only the type is checked here.
        check_error(exc, short=False)
        return
    assert pair.expires_at is None or (math.isfinite(pair.expires_at) and 0 <= pair.expires_at <= now + YEAR)
    assert pair.user_id is None or abs(pair.user_id) < 2**63
    pair.expires_within(60.0, now)
    assert "***" in repr(pair)


stored = st.one_of(
    st.fixed_dictionaries(
        {
            "access_token": tokens,
            "refresh_token": tokens,
            "client_endpoint": st.one_of(st.just(ENDPOINT), tokens),
        },
        optional={
            "expires_at": numberish,
            "user_id": numberish,
            "member_id": json_values,
            "scope": json_values,
        },
    ),
    st.dictionaries(st.text(max_size=15), json_values, max_size=5),
)


@FUZZ
@given(data=stored)
def test_stored_tokens(data: dict[str, Any]) -> None:
    count("auth.OAuthTokens.from_json")
    try:
        pair = OAuthTokens.from_json(data)
    except Exception as exc:
        check_error(exc)
        return
    assert pair.expires_at is None or math.isfinite(pair.expires_at)
