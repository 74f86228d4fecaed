"""Every real response body in ``corpus/`` read through the client's parsing, meaning asserted.

Sources (each entry names its own): the official docs' examples and error tables, bitrix24/b24pysdk's errors
recorded on live portals, leshchenko1979/fast_bitrix24's recorded batch answers, bitrix24/b24phpsdk's error
fixtures, and the portal's own bizproc REST service source (public mirror) with b24phpsdk's patches for its
empty-code answers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ._corpus import ENTRIES, check


def test_the_corpus_is_big_and_independent() -> None:
    assert len(ENTRIES) >= 80
    families = Counter(e["id"].split("-")[0] for e in ENTRIES)
    assert len(families) >= 3 and all(n >= 5 for n in families.values()), families
    assert len({e["id"] for e in ENTRIES}) == len(ENTRIES)
    for entry in ENTRIES:
        assert entry["source"] and isinstance(entry["body"], dict) and isinstance(entry["http_status"], int)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_real_payload_means_what_the_portal_means(entry: dict[str, Any]) -> None:
    check(entry)
