"""``bizproc demo``: seeds, terminates under the bucket, reports the rate against the ceiling, verifies."""

from __future__ import annotations

import datetime as _dt
import re

from .conftest import Run


async def test_demo_runs_end_to_end(bizproc: Run) -> None:
    cutoff = (_dt.date.today() - _dt.timedelta(days=365)).isoformat()  # the seed spans the last 3 years
    result = await bizproc("demo", "--instances", "1500", "--speedup", "100", "--cutoff", cutoff)
    assert result.code == 0, result.err
    out = result.out
    assert "sped up x100 = 200 req/s" in out and "seeded 1,500 running instances" in out
    found = re.search(r"matched\s+(\d+)", out)
    assert found is not None
    matched = int(found.group(1))
    assert 0 < matched < 1500 and re.search(rf"done\s+{matched}\b", out)
    assert "ceiling 2 req/s x 50 commands x 100 speed-up = 10,000/s" in out
    assert ", 0 rejected" in out
    assert "finds 0 running instances started before the cutoff" in out
    assert "terminate: " in result.err  # progress on stderr


async def test_demo_refuses_a_bad_speedup(bizproc: Run) -> None:
    result = await bizproc("demo", "--speedup", "0")
    assert result.code == 2 and "--speedup takes a factor" in result.err
