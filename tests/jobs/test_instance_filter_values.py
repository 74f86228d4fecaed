"""``instance_filter``: a value that is not an ID is refused with a typed error, never bent into one.

``int(True)`` is 1 and ``int(12.7)`` is 12: a destructive job must not turn a slip into "every workflow
of template 1".
"""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc import ValidationError
from bitrix_bizproc.jobs import instance_filter


@pytest.mark.parametrize(
    "kwargs",
    [
        {"template_id": True},
        {"template_id": 12.7},
        {"template_id": "x"},
        {"template_id": 0},
        {"template_id": -4},
        {"started_by": False},
        {"started_by": 1.5},
        {"started_by": -3},
        {"started_by": "me"},
    ],
)
def test_a_value_that_is_not_an_id_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        instance_filter(**kwargs)


def test_ids_as_ints_or_digit_strings_and_the_system_user() -> None:
    assert instance_filter(template_id="12", started_by=7) == {"TEMPLATE_ID": 12, "STARTED_BY": 7}
    assert instance_filter(started_by=0) == {"STARTED_BY": 0}  # workflows the system started (docs example)
