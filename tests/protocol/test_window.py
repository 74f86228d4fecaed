"""The in-flight window of parallel walks: Little's law (rate x latency) and free slots, under the budget."""

from __future__ import annotations

import pytest

from bitrix_bizproc.protocol.window import MAX_WINDOW, LatencyEstimate, inflight_window

BATCH_ROWS = 2_500  # 50 pages of 50 rows


@pytest.mark.parametrize(
    ("latency", "rate", "free", "budget_rows", "window"),
    [
        # sped-up standard plan (100/s): 0.2 s needs ceil(100 x 0.2 x 1.5) + 1 = 31, the budget allows 20
        (0.2, 100.0, 0, 50_000, 20),
        (0.2, 100.0, 0, 1_000_000, 31),
        (0.05, 100.0, 0, 50_000, 9),  # ceil(7.5) + 1
        (0.001, 100.0, 0, 50_000, 2),
        # the free burst goes out at once, as far as the budget allows
        (0.05, 100.0, 47, 50_000, 20),
        (0.05, 100.0, 15, 50_000, 15),
        # the real plans: 2/s and 5/s at 0.2 s keep 2 and 3 in flight once the burst is spent
        (0.2, 2.0, 0, 50_000, 2),
        (0.2, 5.0, 0, 50_000, 3),
        (0.2, 2.0, 47, 50_000, 20),
        # not measured yet: one, or the free slots
        (None, 100.0, 0, 50_000, 1),
        (None, 2.0, 5, 50_000, 5),
        (None, 2.0, None, 50_000, 1),
        # no limiter (a self-hosted portal): the budget, at most MAX_WINDOW
        (0.2, None, None, 50_000, 20),
        (None, None, None, 10**9, MAX_WINDOW),
        # a budget smaller than one batch still walks, one batch at a time
        (0.2, 100.0, 47, 100, 1),
        (0.2, 100.0, 47, 0, 1),
    ],
)
def test_window(
    latency: float | None, rate: float | None, free: int | None, budget_rows: int, window: int
) -> None:
    got = inflight_window(
        latency=latency, rate=rate, free_slots=free, rows_per_request=BATCH_ROWS, budget_rows=budget_rows
    )
    assert got == window


def test_window_never_exceeds_budget_or_ceiling() -> None:
    for budget in range(0, 200_000, 2_499):
        for latency in (None, 0.0, 0.01, 0.2, 5.0):
            for rate in (None, 0.5, 2.0, 100.0, 10_000.0):
                for free in (None, 0, 3, 47, 500):
                    w = inflight_window(
                        latency=latency,
                        rate=rate,
                        free_slots=free,
                        rows_per_request=BATCH_ROWS,
                        budget_rows=budget,
                    )
                    assert 1 <= w <= MAX_WINDOW
                    assert w == 1 or w * BATCH_ROWS <= budget


def test_latency_estimate_moves_toward_new_round_trips() -> None:
    est = LatencyEstimate(weight=0.5)
    assert est.seconds is None
    est.observe(0.2)
    assert est.seconds == 0.2
    est.observe(0.4)
    assert est.seconds == pytest.approx(0.3)
    est.observe(-1.0)  # a clock step back counts as 0
    assert est.seconds == pytest.approx(0.15)
