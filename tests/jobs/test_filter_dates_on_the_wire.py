"""A date the job filters on means one instant, on the portal as in the job's own re-check.

The portal reads a filter date with PHP ``strtotime`` in its own time zone (CRestUtil::unConvertDateTime,
avshatalov48/bitrix-core-business modules/rest/classes/general/rest_util.php; restservice.php getFilter
converts MODIFIED and OWNED_UNTIL so): ``2024-01-01`` is midnight of the portal's zone there, while the
job re-checks rows against midnight UTC (as ``instance_filter`` documents). Rows between the two
instants were neither listed nor counted as left. The job now sends the instant it checks, with its offset.
"""

from __future__ import annotations

import datetime as _dt

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import ReportOutcome, terminate_workflows

from ._seed import DEAL

MIDNIGHT_UTC = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)


@pytest.mark.parametrize("value", ["2024-01-01", _dt.date(2024, 1, 1)])
async def test_a_date_only_filter_means_midnight_utc_on_the_portal_too(
    portal: EmulatedPortal, client: BizprocClient, value: object
) -> None:
    state = portal.state  # the portal's zone is +03:00: its own midnight is 21:00 UTC the day before
    state.add_template("Approval", DEAL)
    late_evening = (MIDNIGHT_UTC - _dt.timedelta(hours=1)).timestamp()  # 23:00 UTC Dec 31: before the cutoff
    early = (MIDNIGHT_UTC - _dt.timedelta(days=3)).timestamp()
    after = (MIDNIGHT_UTC + _dt.timedelta(hours=1)).timestamp()
    window = state.add_instances(2, started=late_evening, modified=late_evening)
    old = state.add_instances(3, started=early, modified=early)
    state.add_instances(1, started=after, modified=after)
    report = await terminate_workflows(client, filter={"<MODIFIED": value})
    assert report.count(ReportOutcome.DONE) == 5 and report.remaining == 0
    assert {w.id for w in [*window, *old]} == set(state.finished)
    assert state.running_count == 1
