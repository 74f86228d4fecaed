"""Batch ``$result[...]`` substitution, edge case by edge case, as the real server does it.

Source of every expectation: the portal's own code, ``CRestUtil::processBatchElement`` and
``CRestProvider::methodsBatch`` (public mirror: avshatalov48/bitrix-core-business,
``modules/rest/classes/general/rest_util.php`` and ``rest_provider.php``). Its rule: the regexp
``/\\$(result|next|total|time|error)([^\\s]*)/i`` takes ``$`` + a source name + every non-space
character as one match; only the ``[...]`` segments in it are walked (``isset`` at each step, stopping
at the last value reached); the whole match is replaced (the raw value when the match is the whole
parameter, else its string form), and the source name is looked up exactly as written..
Docs: ``settings/how-to-call-rest-api/batch.md``.
"""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc.emulator.batch import substitute

ONE = {"ID": "7", "NAME": "abc", "NULL": None}
LIST = [{"ID": "0"}, {"ID": "1"}]
RESULTS: dict[str, Any] = {"list": LIST, "one": ONE, "flag": True}
SOURCES: dict[str, dict[str, Any]] = {
    "result": RESULTS,
    "total": {"list": 120},
    "next": {"list": 50},
    "time": {"list": {"start": 1.5, "duration": 0.25}},
    "error": {"bad": {"error": "E1", "error_description": "boom"}},
}

CASES = [
    # (what, parameter value, what the server passes to the method)
    ("whole value: the raw value", "$result[one][ID]", "7"),
    ("whole value: an array stays an array", "$result[list]", LIST),
    ("text before a macro is kept", "id=$result[one][ID]", "id=7"),
    ("text glued after a macro is part of the match and lost", "$result[one][ID],x", "7"),
    ("... also inside a longer text", "a $result[one][ID],x b", "a 7 b"),
    ("two macros separated by whitespace", "$result[list][0][ID] $result[list][1][ID]", "0 1"),
    ("two glued macros walk one path", "$result[list][0][ID]$result[list][1][ID]", "0"),
    ("upper-case source name matches but finds nothing", "$RESULT[one][ID]", None),
    ("... and prints as empty text", "x $RESULT[one][ID]", "x "),
    ("mixed case too", "$Result[one][ID]", None),
    ("$time[...] is a source", "$time[list][duration]", 0.25),
    ("$time in text", "t=$time[list][start]", "t=1.5"),
    ("$total and $next", "$total[list]/$next[list]", 120),
    ("$error", "$error[bad][error]", "E1"),
    ("a missing segment keeps the last value reached", "$result[one][MISSING]", ONE),
    ("a command not run yet: the whole result section", "$result[later][ID]", RESULTS),
    ("a null value is not set: stops before it", "$result[one][NULL]", ONE),
    ("a string offset picks one character", "$result[one][NAME][1]", "b"),
    ("no segment: left as typed", "$result", "$result"),
    ("an empty segment is not a segment", "$result[]", "$result[]"),
    ("true prints as 1", "flag=$result[flag]", "flag=1"),
    ("an array inside text prints as Array (PHP 7; PHP 8 fails the call)", "x $result[list] y", "x Array y"),
    ("a dollar that is no macro", "price $5", "price $5"),
]


@pytest.mark.parametrize(("what", "value", "expected"), CASES, ids=[c[0] for c in CASES])
def test_substitution_matches_the_server(what: str, value: str, expected: Any) -> None:
    assert substitute(value, SOURCES) == expected


def test_substitution_reaches_nested_values_and_parameter_names() -> None:
    # processBatchStructure walks arrays; names are scanned with an empty source list, so a macro in a name
    # resolves to null: the name becomes "" (whole) or loses the macro text.
    params = {"filter": {">ID": "$result[one][ID]"}, "a$x[1]": "v", "$y[2]": "w"}
    assert substitute(params, SOURCES) == {"filter": {">ID": "7"}, "a": "v", "": "w"}
