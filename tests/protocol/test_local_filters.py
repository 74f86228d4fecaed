"""Date conditions the far side cannot apply, split off a filter and checked on each row's date."""

from __future__ import annotations

import datetime as dt

from bitrix_bizproc.protocol.local_filters import DateCondition, split_filter

CUTOFF = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DATES = frozenset({"STARTED"})


def test_a_portal_keeps_the_whole_filter() -> None:
    filt = {"<STARTED": CUTOFF.isoformat(), "TEMPLATE_ID": 3}
    assert split_filter(filt, None, DATES) == (filt, ())


def test_date_comparisons_the_far_side_lacks_are_split_off() -> None:
    filt = {"<STARTED": CUTOFF.isoformat(), ">=started": "2024-01-01T00:00:00+00:00", "TEMPLATE_ID": 3}
    served, conditions = split_filter(filt, frozenset({"TEMPLATE_ID"}), DATES)
    assert served == {"TEMPLATE_ID": 3}
    assert [c.key for c in conditions] == ["<STARTED", ">=STARTED"]


def test_what_is_not_a_date_comparison_stays_for_the_far_side_to_refuse() -> None:
    filt = {"STARTED": CUTOFF.isoformat(), "<STARTED": "not a date", "MODULE_ID": "crm"}
    assert split_filter(filt, frozenset(), DATES) == (filt, ())


def test_a_row_date_that_is_missing_unparsable_or_naive_is_not_known_to_match() -> None:
    before = DateCondition("STARTED", "<", CUTOFF)
    assert before.holds("2024-12-31T23:59:59+00:00") is True
    assert before.holds(dt.datetime(2025, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=3)))) is True
    assert before.holds("2025-01-01T00:00:00+00:00") is False
    for unknown in (None, "", "garbage", "2024-01-01T00:00:00", 1700000000):
        assert before.holds(unknown) is None
