"""Issue 12 finding 3: only operators the portal honours leave the client, for every list method.

The portal's bizproc REST service (bitrix/modules/bizproc/lib/restservice.php, public mirrors) reads a
filter key as ``^([^a-zA-Z]*)(.*)`` and keeps it only if the prefix is one of ``'' ! < <= > >=`` and the
field is in the method's own list; every other key is dropped without a word, which widens the result. Its
ORM compares text fields with ``UPPER(f) LIKE UPPER(v)`` for ``''`` (CSQLWhere operation "E"), so ``%`` and
``_`` in a value are wildcards. ``user.get`` (bitrix/modules/rest/lib/api/user.php) reads one or two
non-word characters as the prefix, so a three-character ``!=%`` is read as ``!=`` on a field ``%NAME``
that does not exist.
"""

from __future__ import annotations

import pytest

from bitrix_bizproc.models.filters import TASK_SPEC, TEMPLATE_SPEC, USER_SPEC, WORKFLOW_SPEC, F, ListSpec
from bitrix_bizproc.protocol.errors import ValidationError

BIZPROC = [WORKFLOW_SPEC, TEMPLATE_SPEC, TASK_SPEC]


@pytest.mark.parametrize(
    ("spec", "given", "sent"),
    [
        (WORKFLOW_SPEC, {"=TEMPLATE_ID": 12}, {"TEMPLATE_ID": 12}),  # issue 12: {"=TEMPLATE_ID": 12}
        (WORKFLOW_SPEC, {"!=TEMPLATE_ID": 12}, {"!TEMPLATE_ID": 12}),
        (WORKFLOW_SPEC, {"=ID": "66e412fdc9bd44.36306599"}, {"ID": "66e412fdc9bd44.36306599"}),
        (TEMPLATE_SPEC, {"=ID": [1, 2]}, {"ID": [1, 2]}),
        (TASK_SPEC, {"=USER_ID": 15, "!=STATUS": 3}, {"USER_ID": 15, "!STATUS": 3}),
    ],
)
def test_equality_operators_are_translated_to_the_ones_the_portal_reads(
    spec: ListSpec, given: dict[str, object], sent: dict[str, object]
) -> None:
    assert spec.check_filter(given) == sent


@pytest.mark.parametrize("spec", BIZPROC)
@pytest.mark.parametrize("key", ["=ID", "!=ID", "<ID", ">=ID", "ID", "!ID"])
def test_no_bizproc_filter_key_carries_an_operator_the_portal_drops(spec: ListSpec, key: str) -> None:
    sent = spec.check_filter({key: 5})
    assert sent is not None
    for wire_key in sent:
        op = wire_key[: len(wire_key) - len(wire_key.lstrip("!<>="))]
        assert op in ("", "!", "<", "<=", ">", ">="), wire_key


@pytest.mark.parametrize("value", ["DEAL_777", "DEAL%", ["DEAL_1", "DEAL_2"], "a\\b"])
def test_exact_text_equality_the_portal_would_read_as_a_pattern_is_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="wildcard"):
        WORKFLOW_SPEC.check_filter({"=DOCUMENT_ID": value})


def test_a_field_the_method_does_not_filter_on_is_refused() -> None:
    # bizproc.task.list returns DOCUMENT_URL, but its filter list (getTaskList $fields) lacks it
    with pytest.raises(ValidationError, match="DOCUMENT_URL"):
        TASK_SPEC.check_filter({"DOCUMENT_URL": "/crm/deal/details/1/"})
    assert TASK_SPEC.check_select(["DOCUMENT_URL"]) == ["DOCUMENT_URL"]


@pytest.mark.parametrize("key", ["!=%NAME", "!%=NAME"])
def test_user_get_three_character_prefixes_are_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        USER_SPEC.check_filter({key: "Iv%"})


def test_user_get_keeps_its_own_operators_and_patterns() -> None:
    # docs api-reference/user/user-get.md: {"NAME": "Iv%"}, {"!%LAST_NAME": "an"}, {"@PERSONAL_CITY": [...]}
    wire = {"NAME": "Iv%", "!%LAST_NAME": "an", "@PERSONAL_CITY": ["New York", "Los Angeles"], "=ID": 5}
    assert USER_SPEC.check_filter(wire) == wire
    assert USER_SPEC.check_filter({"NAME_SEARCH": "Ivan"}) == {"NAME_SEARCH": "Ivan"}


@pytest.mark.parametrize("key", ["!NAME_SEARCH", "%NAME_SEARCH", "FIND"])
def test_user_get_search_keys_the_portal_reads_otherwise_are_refused(key: str) -> None:
    # user.get clears the prefix of NAME_SEARCH (a "!" would silently turn into a plain search); FIND is
    # read by user.search only
    with pytest.raises(ValidationError):
        USER_SPEC.check_filter({key: "Ivan"})


def test_the_condition_builders_send_portal_operators() -> None:
    assert WORKFLOW_SPEC.check_filter((F.TEMPLATE_ID == 12) & (F.STARTED_BY != 3)) == {
        "TEMPLATE_ID": 12,
        "!STARTED_BY": 3,
    }
