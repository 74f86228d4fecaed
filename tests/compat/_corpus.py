"""The corpus of real response bodies: loading, and reading each one through the client's own parsing.

Each entry of ``corpus/*.json``: ``id``, ``source`` (a docs page under ``shared/reference/bitrix24-docs/``, or
a public repository and file path), ``method``, ``http_status``, ``body`` (re-typed from the source) and
``expect`` (what the real portal MEANS by it).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from bitrix_bizproc.models import Task, Template, User, WorkflowInstance
from bitrix_bizproc.models.converter import structure
from bitrix_bizproc.protocol import errors
from bitrix_bizproc.protocol.auth import parse_token_response
from bitrix_bizproc.protocol.batch import parse_batch_result
from bitrix_bizproc.protocol.envelope import parse_response

CORPUS_DIR = Path(__file__).parent / "corpus"
MODELS: dict[str, type[Any]] = {
    "WorkflowInstance": WorkflowInstance,
    "Template": Template,
    "Task": Task,
    "User": User,
}


def load() -> list[dict[str, Any]]:
    """Every entry of every corpus file, in file order."""
    entries: list[dict[str, Any]] = []
    for path in sorted(CORPUS_DIR.glob("*.json")):
        entries.extend(json.loads(path.read_text(encoding="utf-8")))
    return entries


def error_class(name: str) -> type[errors.BitrixError]:
    """The error class an ``expect.class`` names."""
    cls = getattr(errors, name)
    assert isinstance(cls, type) and issubclass(cls, errors.BitrixError)
    return cls


def wire(entry: dict[str, Any]) -> bytes:
    """The body as the portal sends it."""
    return json.dumps(entry["body"], ensure_ascii=False).encode()


ENTRIES = load()


_TYPES: dict[str, type | tuple[type, ...]] = {
    "list": list,
    "object": dict,
    "bool": bool,
    "int": int,
    "str": str,
    "float": float,
    "null": type(None),
}


def _wire_names(cls: type[Any]) -> set[str]:
    return {str(f.metadata["bitrix_wire"]).upper() for f in attrs.fields(cls) if "bitrix_wire" in f.metadata}


def check_model_rows(rows: list[Any], model: str) -> None:
    """Every row reads into the model; no field the model knows is left in ``extra``; datetimes are aware."""
    cls = MODELS[model]
    known = _wire_names(cls)
    for row in rows:
        obj = structure(row, cls)
        stranded = {k for k in obj.extra if str(k).upper() in known}
        assert not stranded, f"{model}: {sorted(stranded)} did not convert: {[row[k] for k in stranded]}"
        for field in attrs.fields(cls):
            value = getattr(obj, field.name)
            if isinstance(value, dt.datetime):
                assert value.tzinfo is not None, f"{model}.{field.name} is naive"


def check_result(entry: dict[str, Any]) -> None:
    """A success body: result type, total/next, the time block, model rows."""
    expect, body = entry["expect"], entry["body"]
    response = parse_response(entry["http_status"], wire(entry), method=entry["method"])
    assert isinstance(response.result, _TYPES[expect["type"]])
    if expect["type"] == "int":
        assert not isinstance(response.result, bool)
    assert (response.total, response.next) == (expect["total"], expect["next"])
    if "len" in expect:
        assert len(response.result) == expect["len"]
    if expect["time"]:  # the time block read, offsets kept
        assert response.time is not None and response.time.start == body["time"]["start"]
        assert response.time.date_start is not None and response.time.date_start.tzinfo is not None
        for key in ("operating_reset_at", "operating"):
            if key in body["time"]:
                assert getattr(response.time, key) == body["time"][key]
    else:
        assert response.time is None
    if "model" in expect:
        rows = response.result if isinstance(response.result, list) else [response.result]
        check_model_rows(rows, expect["model"])


def check_error(entry: dict[str, Any]) -> None:
    """An error body: the typed class, and code, description and status kept."""
    expect, body = entry["expect"], entry["body"]
    with pytest.raises(errors.BitrixError) as info:
        parse_response(entry["http_status"], wire(entry), method=entry["method"])
    error = info.value
    assert isinstance(error, error_class(expect["class"])), f"{type(error).__name__} for {body}"
    nested = body["error"] if isinstance(body["error"], dict) else {}  # REST v3: {"code", "message"}
    description = nested.get("message", body.get("error_description", ""))
    expected = (expect["code"], description, entry["http_status"])
    assert (error.code, error.description, error.status) == expected


def check_batch(entry: dict[str, Any]) -> None:
    """A batch answer: per-command outcomes, PHP's [] sections and lists read as maps."""
    expect = entry["expect"]
    response = parse_response(entry["http_status"], wire(entry), method="batch")
    keys = expect.get("keys") or [*expect["ok"], *expect["errors"]]
    outcomes = parse_batch_result(keys, response.result, halt=expect["halt"])
    assert [k for k in keys if outcomes[k].ok] == expect["ok"]
    for key, name in expect["errors"].items():
        error = outcomes[key].error
        assert isinstance(error, error_class(name)), f"{key}: {type(error).__name__}"
        if name == "NotExecutedError":
            assert not outcomes[key].executed
        elif "error_codes" in expect:
            assert error.code == expect["error_codes"][key]
    assert {k: outcomes[k].total for k in keys if outcomes[k].total is not None} == expect["totals"]
    for key, value in expect.get("results", {}).items():
        assert outcomes[key].result == value
    for key in expect["ok"]:
        assert outcomes[key].time is not None and outcomes[key].time.date_start is not None  # type: ignore[union-attr]
    for key, model in expect.get("models", {}).items():
        check_model_rows([outcomes[key].result], model)


def check_token(entry: dict[str, Any]) -> None:
    """A token-server answer: the pair, endpoint and expiry read; or the typed refusal."""
    expect, body = entry["expect"], entry["body"]
    if expect["kind"] == "token":
        tokens = parse_token_response(entry["http_status"], wire(entry), now=1000.0)
        assert (tokens.access_token, tokens.refresh_token) == (body["access_token"], body["refresh_token"])
        assert tokens.client_endpoint == body["client_endpoint"]
        assert tokens.expires_at == 1000.0 + body["expires_in"]
        return
    with pytest.raises(errors.BitrixError) as info:
        parse_token_response(entry["http_status"], wire(entry), now=1000.0)
    assert isinstance(info.value, error_class(expect["class"])), type(info.value).__name__
    assert info.value.code == expect["code"]


CHECKS = {
    "result": check_result,
    "error": check_error,
    "batch": check_batch,
    "token": check_token,
    "token_error": check_token,
}


def check(entry: dict[str, Any]) -> None:
    """Feed one corpus entry through the client's parsing and assert what the portal means."""
    CHECKS[entry["expect"]["kind"]](entry)
