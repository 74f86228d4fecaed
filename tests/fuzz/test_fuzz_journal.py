"""Fuzz the job journal's reader: a file of any bytes opens, and yields only well-formed entries."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc.jobs.journal import Journal, Outcome

from ._support import FUZZ, check_error, count, deep_bytes, json_values

record = st.one_of(
    st.fixed_dictionaries(
        {
            "item": st.one_of(st.text(max_size=10), json_values),
            "action": st.one_of(st.just("terminate"), json_values),
            "outcome": st.one_of(st.sampled_from([o.value for o in Outcome]), json_values),
        },
        optional={
            "code": json_values,
            "description": json_values,
            "transient": json_values,
            "ts": json_values,
        },
    ),
    st.fixed_dictionaries({"event": json_values}, optional={"ts": json_values}),
    json_values,
)
line = st.one_of(
    record.map(
        lambda r: (
            json.dumps(r, allow_nan=True).encode() if not isinstance(r, int) or abs(r) < 10**100 else b"1"
        )
    ),
    st.binary(max_size=60),
    st.integers(1, 3000).map(lambda n: deep_bytes(n, obj=n % 2 == 0)),
)
files = (
    st.lists(line, max_size=6)
    .flatmap(lambda lines: st.tuples(st.just(lines), st.booleans()))
    .map(lambda t: b"\n".join(t[0]) + (b"\n" if t[1] else b""))
)

_DIR = Path(tempfile.mkdtemp(prefix="fuzz-journal-"))


@FUZZ
@given(raw=files)
def test_the_journal_reader(raw: bytes) -> None:
    count("jobs.journal.read")
    path = _DIR / "journal.jsonl"
    path.write_bytes(raw)
    try:
        journal = Journal(path, durable=False)
    except Exception as exc:
        check_error(exc)
        return
    for entry in journal.entries():
        assert isinstance(entry.item, str) and isinstance(entry.action, str)
        assert isinstance(entry.code, str) and isinstance(entry.description, str)
        assert isinstance(entry.outcome, Outcome) and isinstance(entry.transient, bool)
    journal.events  # noqa: B018 - reading them must not fail either
    journal.close()
