"""``bizproc terminate`` and ``offboard``: dry runs, the prompt, no-terminal mode, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from jobs._seed import PortalFactory, refusing, seed_dismissed_employee, seed_instances

from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import Journal, JournalOutcome

from .conftest import Run

BEFORE = ("--started-before", "2024-01-01")


async def test_dry_run_lists_and_changes_nothing(portal: EmulatedPortal, bizproc: Run) -> None:
    seeded = seed_instances(portal, old=30, new=5)
    result = await bizproc("terminate", "--webhook", portal.webhook_url, *BEFORE, "--dry-run", "--show", "3")
    assert result.code == 0, result.err
    assert "would terminate 30:" in result.out and "... and 27 more" in result.out
    assert "dry run: nothing was changed" in result.out
    listed = [line.split() for line in result.out.splitlines() if line.strip()[:1].isdigit()]
    assert sum(words[0] in seeded.old for words in listed) == 3
    for words in listed:  # what each one is, not only its ID: start date (with offset), template, document
        assert words[1] == "started" and words[2][:4].isdigit() and words[2][19:] == "+03:00"
        assert words[3] == "template" and words[5].startswith("crm:")
    assert portal.state.running_count == 35


async def test_without_a_terminal_and_without_yes_it_is_a_dry_run(
    portal: EmulatedPortal, bizproc: Run
) -> None:
    seed_instances(portal, old=10)
    result = await bizproc("terminate", "--webhook", portal.webhook_url, *BEFORE, tty=False)
    assert result.code == 4 and "not a terminal: dry run only" in result.err  # a cron job without --yes
    assert "not confirmed: 10 listed, nothing changed" in result.err and "--yes" in result.err
    assert portal.state.running_count == 10


async def test_on_a_terminal_it_asks_and_no_means_no(portal: EmulatedPortal, bizproc: Run) -> None:
    seed_instances(portal, old=10)
    result = await bizproc("terminate", "--webhook", portal.webhook_url, *BEFORE, tty=True, stdin="n\n")
    assert "Terminate 10 running workflows? [y/N]" in result.err
    assert result.code == 0 and "nothing was changed" in result.out
    assert portal.state.running_count == 10


async def test_on_a_terminal_yes_terminates(portal: EmulatedPortal, bizproc: Run) -> None:
    seed_instances(portal, old=10, new=1)
    result = await bizproc(
        "terminate", "--webhook", portal.webhook_url, *BEFORE, "--kill", tty=True, stdin="y\n"
    )
    assert "Kill 10 running workflows?" in result.err
    assert result.code == 0 and "left matching  0" in result.out
    assert portal.state.killed_count == 10 and portal.state.running_count == 1


async def test_yes_with_a_journal_and_a_json_report(
    portal: EmulatedPortal, bizproc: Run, tmp_path: Path
) -> None:
    seeded = seed_instances(portal, old=120)
    journal = tmp_path / "run.jsonl"
    argv = (
        "terminate",
        "--webhook",
        portal.webhook_url,
        *BEFORE,
        "--yes",
        "--journal",
        str(journal),
        "--json",
    )
    result = await bizproc(*argv, "--status", "old")
    report = json.loads(result.out)
    assert result.code == 0 and report["counts"] == {"done": 120} and report["remaining"] == 0
    assert "terminate: 120/120" in result.err  # plain progress lines when stderr is not a terminal
    done = {e.item for e in Journal(journal).entries("terminate") if e.outcome is JournalOutcome.DONE}
    assert done == seeded.old
    again = json.loads((await bizproc(*argv)).out)
    assert again["matched"] == 0 and again["counts"] == {}


async def test_failed_items_exit_1_and_are_listed_with_their_code(
    portal_factory: PortalFactory, bizproc: Run
) -> None:
    locked: set[str] = set()
    portal = await portal_factory(dispatcher=refusing(locked))
    seeded = seed_instances(portal, old=60)
    locked.add(sorted(seeded.old)[0])
    result = await bizproc("terminate", "--webhook", portal.webhook_url, *BEFORE, "--yes")
    assert result.code == 1
    assert "failures by code: ACCESS_DENIED x1" in result.out and "Workflow is locked" in result.out


async def test_offboard_delegates_by_name(portal: EmulatedPortal, bizproc: Run) -> None:
    anna = seed_dismissed_employee(portal, workflows=6)
    result = await bizproc(
        "offboard", "--webhook", portal.webhook_url, "--user", "Anna Petrova",
        "--delegate-to", str(anna.colleague), tty=True, stdin="yes\n",
    )  # fmt: skip
    assert f"Delegate 6 open tasks to user {anna.colleague}?" in result.err
    assert result.code == 0 and f"user {anna.user_id} (Anna Petrova)" in result.out
    assert {t.id for t in portal.state.tasks if t.user_id == anna.colleague} == anna.tasks


async def test_offboard_terminates_by_id(portal: EmulatedPortal, bizproc: Run) -> None:
    anna = seed_dismissed_employee(portal, workflows=4)
    result = await bizproc("offboard", "--webhook", portal.webhook_url, "--user", str(anna.user_id), "--yes")
    assert result.code == 0 and set(portal.state.finished) == anna.workflows


async def test_no_at_the_prompt_is_reported_as_declined_not_as_a_dry_run(
    portal: EmulatedPortal, bizproc: Run
) -> None:
    seeded = seed_instances(portal, old=4)
    result = await bizproc("terminate", "--webhook", portal.webhook_url, *BEFORE, tty=True, stdin="n\n")
    assert result.code == 0 and portal.state.running_count == 4
    assert "terminate_workflows: terminate (declined)" in result.out
    assert "declined: nothing was changed" in result.out and "dry run" not in result.out
    assert "would terminate" not in result.out  # the prompt has just listed them
    listed = [line.split() for line in result.err.splitlines() if line.strip()[:1].isdigit()]
    assert sum(words[0] in seeded.old and "started" in words for words in listed) == 4


async def test_a_negative_show_is_a_usage_error(bizproc: Run) -> None:
    result = await bizproc("terminate", *BEFORE, "--dry-run", "--show", "-5")
    assert result.code == 2 and "argument --show: expected a number >= 0" in result.err


async def test_offboarding_an_active_user_says_they_are_active(portal: EmulatedPortal, bizproc: Run) -> None:
    anna = seed_dismissed_employee(portal, workflows=1)
    result = await bizproc("offboard", "--webhook", portal.webhook_url, "--user", str(anna.colleague))
    assert result.code == 2
    assert f"user {anna.colleague} (Boris Ivanov) is still active" in result.err


async def test_delegating_to_the_same_user_names_the_option_s_value(
    portal: EmulatedPortal, bizproc: Run
) -> None:
    anna = seed_dismissed_employee(portal, workflows=1)
    who = str(anna.user_id)
    result = await bizproc("offboard", "--webhook", portal.webhook_url, "--user", who, "--delegate-to", who)
    assert result.code == 2 and f"cannot delegate user {who}'s tasks to user {who}" in result.err


async def test_a_journal_that_cannot_be_a_file_is_refused_before_any_request(
    portal: EmulatedPortal, bizproc: Run, tmp_path: Path
) -> None:
    seed_instances(portal, old=3)
    for journal, message in [
        (str(tmp_path), "is a directory; give a file name"),
        (str(tmp_path / "missing" / "run.jsonl"), "no such directory"),
    ]:
        result = await bizproc(
            "terminate", "--webhook", portal.webhook_url, *BEFORE, "--yes", "--journal", journal
        )
        assert result.code == 2 and "argument --journal: " in result.err and message in result.err
    assert portal.counters.requests == 0 and portal.state.running_count == 3


async def test_a_journal_path_holding_another_file_is_refused_untouched(
    portal: EmulatedPortal, bizproc: Run, tmp_path: Path
) -> None:
    """Issue 13 item 9: ``--journal`` at a file that is not a journal: refused, never written to."""
    seed_instances(portal, old=5)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("my notes\nline two\n")
    result = await bizproc(
        "terminate", "--webhook", portal.webhook_url, *BEFORE, "--yes", "--journal", str(foreign)
    )
    assert result.code == 2 and "not a job journal" in result.err  # a usage error, like any bad option
    assert foreign.read_text() == "my notes\nline two\n"
    assert portal.state.running_count == 5


async def test_rows_the_portal_should_not_have_listed_are_shown_as_excluded(
    portal: EmulatedPortal, bizproc: Run
) -> None:
    """A portal that ignores the STARTED filter (restservice.php converts only MODIFIED and OWNED_UNTIL
    filter dates; avshatalov48/bitrix-core-business, modules/bizproc/lib/restservice.php)."""
    portal.state.settings.instances_filter_ignores = frozenset({"STARTED"})
    seeded = seed_instances(portal, old=4, new=3)
    result = await bizproc("terminate", "--webhook", portal.webhook_url, *BEFORE, "--yes")
    assert result.code == 0, result.err
    assert "excluded       3" in result.out
    assert "WARNING: the portal ignored part of the filter; 3 rows excluded" in result.out
    assert sum(i in result.out for i in seeded.new) == 3 and "does not satisfy <STARTED" in result.out
    assert portal.state.running_count == 3
    as_json = await bizproc("terminate", "--webhook", portal.webhook_url, *BEFORE, "--yes", "--json")
    assert json.loads(as_json.out)["warnings"] == ["the portal ignored part of the filter; 3 rows excluded"]
