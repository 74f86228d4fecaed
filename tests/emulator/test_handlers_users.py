"""user.get: filters (ACTIVE, NAME, LAST_NAME, operators), sorting and paging, called directly."""

from __future__ import annotations

from typing import Any

import pytest

from ._handler_support import ADMIN, call, context, error_of, make_state


def _ids(**params: Any) -> list[int]:
    return [int(row["ID"]) for row in call(make_state(), ADMIN, "user.get", **params).result]


@pytest.mark.parametrize("inactive", [False, "N", "false", 0, "0"])
def test_active_false_finds_dismissed_employees(inactive: object) -> None:
    assert _ids(filter={"ACTIVE": inactive}) == [4]


@pytest.mark.parametrize("active", [True, "Y", "true", 1])
def test_active_true_excludes_them(active: object) -> None:
    assert _ids(filter={"ACTIVE": active}) == [1, 2, 3]


def test_the_dismissed_employee_recipe() -> None:
    result = call(
        make_state(), ADMIN, "user.get", filter={"NAME": "Klaus", "LAST_NAME": "Weber", "ACTIVE": False}
    )
    row = result.result[0]
    assert (result.total, row["ID"], row["ACTIVE"], row["USER_TYPE"]) == (1, "4", False, "employee")


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"%LAST_NAME": "wor"}, [3]),
        ({"!%LAST_NAME": "o"}, [4]),
        ({"=%NAME": "Kl%"}, [4]),
        ({"@ID": [1, 3]}, [1, 3]),
        ({"!@ID": ["1", "3"]}, [2, 4]),
        ({">=ID": 3}, [3, 4]),
        ({"!ID": 1}, [2, 3, 4]),
        ({"NAME_SEARCH": "boss"}, [2]),
        ({"NO_SUCH": 1}, [1, 2, 3, 4]),
    ],
)
def test_filter_operators(flt: dict[str, Any], expected: list[int]) -> None:
    assert _ids(filter=flt) == expected


def test_filter_fields_may_come_at_the_top_level_and_sort_desc() -> None:
    assert _ids(active="Y", sort="ID", order="DESC") == [3, 2, 1]


@pytest.mark.parametrize(("count", "pages"), [(50, [(50, None)]), (51, [(50, 50), (1, None)])])
def test_paging(count: int, pages: list[tuple[int, int | None]]) -> None:
    state = make_state()
    for i in range(count - 4):
        state.add_user(f"U{i}", "Extra")
    start, seen = 0, []
    for _ in pages:
        page = call(state, ADMIN, "user.get", start=start)
        assert page.total == count
        seen.append((len(page.result), page.next))
        start = page.next or 0
    assert seen == pages
    keyset = call(state, ADMIN, "user.get", start=-1, filter={">ID": 40})
    assert keyset.total is None and int(keyset.result[0]["ID"]) == 41


def test_needs_a_user_scope_not_admin_rights() -> None:
    state = make_state()
    assert call(state, context(3, admin=False, scopes="user_brief"), "user.get").total == 4
    assert error_of(state, context(scopes="bizproc"), "user.get")[0] == "insufficient_scope"


# The docs' filters (api-reference/user/user-get.md): UF_DEPARTMENT "belonging to the company structure",
# IS_ONLINE [Y|N], and a plain NAME with a % wildcard ({"filter": {"NAME": "Iv%"}}) -- none of them may be
# dropped, or an offboarding job would act on every employee.
def _people() -> Any:
    state = make_state()
    state.add_user("Ivan", "Petrov", departments=[5])
    state.add_user("Iva", "Novak", departments=[5, 7])
    state.add_user("Olivia", "Ivanova", departments=[7])
    state.users.update(6, online=True)
    return state


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"UF_DEPARTMENT": 5}, [5, 6]),
        ({"UF_DEPARTMENT": "7"}, [6, 7]),
        ({"UF_DEPARTMENT": [5, 7]}, [5, 6, 7]),
        ({"UF_DEPARTMENT": 99}, []),
        ({"IS_ONLINE": "Y"}, [6]),
        ({"IS_ONLINE": "N", "UF_DEPARTMENT": 5}, [5]),
        ({"NAME": "Iv%"}, [5, 6]),
        ({"NAME": "iva%"}, [5, 6]),
        ({"NAME": "%via"}, [7]),
        ({"NAME": "ivan"}, [5]),
        ({"LAST_NAME": "%ov%"}, [5, 6, 7]),
        ({"!NAME": "Iv%"}, [1, 2, 3, 4, 7]),
    ],
)
def test_docs_filters_are_honoured(flt: dict[str, Any], expected: list[int]) -> None:
    rows = call(_people(), ADMIN, "user.get", filter=flt).result
    assert [int(row["ID"]) for row in rows] == expected


def test_is_online_and_departments_go_out_as_on_a_live_portal() -> None:
    rows = call(_people(), ADMIN, "user.get", filter={"@ID": [5, 6]}).result
    assert [(row["IS_ONLINE"], row["UF_DEPARTMENT"]) for row in rows] == [("N", [5]), ("Y", [5, 7])]


def test_a_row_has_the_docs_fields_and_the_portal_date_forms() -> None:
    # api-reference/user/user-get.md (Response Handling) lists these keys; the offset-less date forms are the
    # ones a real user.current answer shows (settings/how-to-call-rest-api/batch.md)
    state = make_state()
    state.users.update(1, date_register=1692883179.0, last_login=1725017411.0)
    row = call(state, ADMIN, "user.get", filter={"ID": 1}).result[0]
    assert set(row) == {
        "ID", "ACTIVE", "NAME", "LAST_NAME", "SECOND_NAME", "EMAIL", "LAST_LOGIN", "DATE_REGISTER",
        "TIME_ZONE", "IS_ONLINE", "TIMESTAMP_X", "LAST_ACTIVITY_DATE", "PERSONAL_GENDER", "PERSONAL_WWW",
        "PERSONAL_BIRTHDAY", "PERSONAL_MOBILE", "PERSONAL_CITY", "WORK_PHONE", "WORK_POSITION",
        "UF_EMPLOYMENT_DATE", "UF_DEPARTMENT", "USER_TYPE",
    }  # fmt: skip
    assert (row["TIMESTAMP_X"], row["LAST_ACTIVITY_DATE"]) == ("24.08.2023 16:19:39", "2024-08-30 14:30:11")
    assert row["LAST_LOGIN"] == "2024-08-30T14:30:11+03:00" and row["PERSONAL_BIRTHDAY"] == ""
