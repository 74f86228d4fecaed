"""The pure gateway mapping: bizproc calls -> routes, answers -> REST results or typed errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bitrix_bizproc.models.documents import DocumentId
from bitrix_bizproc.protocol.errors import (
    AccessDeniedError,
    BitrixError,
    ExpiredTokenError,
    InvalidCredentialsError,
    QueryLimitError,
    ServerError,
    UnsupportedOperationError,
    ValidationError,
    WorkflowNotFoundError,
)
from bitrix_bizproc.protocol.vibecode import VibecodeCredentials, build_request, validate_base_url
from bitrix_bizproc.protocol.vibecode_answers import parse_gateway_response

KEY = "vibe_api_" + "k" * 32
APP_KEY = "vibe_app_" + "a" * 32
TOKEN = "session-token-123"


@pytest.mark.parametrize(
    ("method", "params", "verb", "url", "body"),
    [
        ("bizproc.workflow.instances", {}, "GET", "/workflows?offset=0", None),
        (
            "bizproc.workflow.instance.list",
            {"FILTER": {"TEMPLATE_ID": 3, "=STARTED_BY": "7"}, "start": 50},
            "GET",
            "/workflows?templateId=3&startedBy=7&offset=50",
            None,
        ),
        (
            "bizproc.workflow.instances",
            {"filter": {"template_id": 3}, "order": {"modified": "desc"}},
            "GET",
            "/workflows?templateId=3&offset=0",
            None,
        ),
        (
            "bizproc.workflow.start",
            {"TEMPLATE_ID": 713, "DOCUMENT_ID": DocumentId.deal(5141), "PARAMETERS": {"Amount": 5}},
            "POST",
            "/workflows/start",
            {"templateId": 713, "entityType": "deal", "entityId": 5141, "parameters": {"Amount": 5}},
        ),
        (
            "bizproc.workflow.start",
            {
                "TEMPLATE_ID": "2",
                "DOCUMENT_ID": ["crm", "CCrmDocumentCompany", "COMPANY_9"],
                "PARAMETERS": {},
            },
            "POST",
            "/workflows/start",
            {"templateId": 2, "entityType": "company", "entityId": 9},
        ),
        (
            "bizproc.workflow.terminate",
            {"ID": "69f0c2d5ade389.22457798", "STATUS": "cleanup & done"},
            "DELETE",
            "/workflows/69f0c2d5ade389.22457798?status=cleanup+%26+done",
            None,
        ),
        ("bizproc.workflow.terminate", {"ID": "a/b", "STATUS": None}, "DELETE", "/workflows/a%2Fb", None),
        (
            "bizproc.workflow.kill",
            {"ID": "69f0c2d5ade389.22457798"},
            "DELETE",
            "/workflows/69f0c2d5ade389.22457798?force=true",
            None,
        ),
        (
            "bizproc.event.send",
            {"EVENT_TOKEN": "t|1", "RETURN_VALUES": {"ok": "Y"}, "LOG_MESSAGE": "done"},
            "POST",
            "/workflows/event",
            {"eventToken": "t|1", "returnValues": {"ok": "Y"}, "logMessage": "done"},
        ),
        (
            "bizproc.workflow.template.list",
            {"SELECT": ["NAME", "DOCUMENT_TYPE"], "ORDER": {"ID": "DESC"}, "start": 100},
            "GET",
            "/entities/bizproc-templates?offset=100&limit=50&select=id%2Cname%2CdocumentType&order%5Bid%5D=desc",
            None,
        ),
    ],
)
def test_each_operation_maps_to_its_route(
    method: str, params: dict[str, Any], verb: str, url: str, body: dict[str, Any] | None
) -> None:
    request = build_request(method, params)
    assert (request.http_method, request.url("")) == (verb, url)
    assert request.body == body


@pytest.mark.parametrize(
    ("method", "params", "named"),
    [
        ("bizproc.task.list", {}, "bizproc.task.list"),
        ("bizproc.workflow.template.add", {"NAME": "x"}, "bizproc.workflow.template.add"),
        ("bizproc.workflow.instances", {"FILTER": {"<STARTED": "2025-01-01T00:00:00+00:00"}}, "'<STARTED'"),
        ("bizproc.workflow.instances", {"FILTER": {"MODULE_ID": "crm"}}, "'MODULE_ID'"),
        ("bizproc.workflow.instances", {"FILTER": {"!TEMPLATE_ID": 3}}, "'!TEMPLATE_ID'"),
        ("bizproc.workflow.instances", {"FILTER": {"TEMPLATE_ID": [1, 2]}}, "TEMPLATE_ID"),
        ("bizproc.workflow.instances", {"ORDER": {"ID": "ASC"}}, "MODIFIED DESC"),
        ("bizproc.workflow.instances", {"start": -1}, "start=-1"),
        ("bizproc.workflow.template.list", {"FILTER": {"MODULE_ID": "crm"}}, "filters"),
        (
            "bizproc.workflow.start",
            {"TEMPLATE_ID": 1, "DOCUMENT_ID": DocumentId.smart_process(147, 1)},
            "CRM deals",
        ),
        ("bizproc.workflow.terminate", {"ID": "x", "EXTRA": 1}, "EXTRA"),
    ],
)
def test_what_the_gateway_lacks_is_refused_naming_operation_and_transport(
    method: str, params: dict[str, Any], named: str
) -> None:
    with pytest.raises(UnsupportedOperationError) as caught:
        build_request(method, params)
    message = str(caught.value)
    assert method in message and "Vibecode gateway" in message and named in message


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("bizproc.workflow.terminate", {"ID": ""}),
        ("bizproc.workflow.kill", {}),
        ("bizproc.workflow.start", {"TEMPLATE_ID": 1, "DOCUMENT_ID": ["crm", "CCrmDocumentDeal", "LEAD_1"]}),
        ("bizproc.workflow.start", {"DOCUMENT_ID": ["crm", "CCrmDocumentDeal", "DEAL_1"]}),
        ("bizproc.event.send", {}),
        ("bizproc.workflow.instances", {"FILTER": {"TEMPLATE_ID": 1}, "filter": {}}),
    ],
)
def test_bad_input_is_a_validation_error_before_sending(method: str, params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        build_request(method, params)
    assert not isinstance(caught.value, UnsupportedOperationError)


def test_personal_and_app_keys_make_their_headers() -> None:
    assert VibecodeCredentials(KEY).headers() == {"X-Api-Key": KEY}
    app = VibecodeCredentials(APP_KEY, TOKEN)
    assert app.kind == "app"
    assert app.headers() == {"X-Api-Key": APP_KEY, "Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("key", "token", "complaint"),
    [
        ("sk_live_" + "x" * 20, None, "starts with"),
        ("vibe_api_", None, "malformed"),
        ("vibe_api_abc\r\nX-Evil: 1", None, "malformed"),
        (KEY, TOKEN, "takes no session token"),
        (APP_KEY, None, "needs the user's session token"),
        (APP_KEY, "bad token\n", "malformed"),
    ],
)
def test_keys_are_checked_loudly_without_echoing_them(key: str, token: str | None, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as caught:
        VibecodeCredentials(key, token)
    secret = key[len("vibe_api_") :]
    assert not secret or secret not in str(caught.value)
    assert token is None or token not in str(caught.value)


def test_credentials_repr_hides_secrets() -> None:
    text = repr(VibecodeCredentials(APP_KEY, TOKEN))
    assert APP_KEY not in text and TOKEN not in text and "app" in text


def test_plain_http_only_for_loopback() -> None:
    assert validate_base_url("http://127.0.0.1:8080/v1/") == "http://127.0.0.1:8080/v1"
    with pytest.raises(ValueError, match="https"):
        validate_base_url("http://vibecode.example.com/v1")


def _body(data: Any) -> bytes:
    return json.dumps(data).encode()


def test_a_204_is_true() -> None:
    request = build_request("bizproc.workflow.kill", {"ID": "x"})
    response = parse_gateway_response(request, 204, b"")
    assert response.result is True


def test_a_list_page_gets_total_next_and_the_rest_projection() -> None:
    request = build_request("bizproc.workflow.instances", {"SELECT": ["STARTED"], "start": 50})
    rows = [{"ID": f"id{i}", "STARTED": "2026-01-01T00:00:00+00:00", "TEMPLATE_ID": "3"} for i in range(50)]
    response = parse_gateway_response(
        request, 200, _body({"success": True, "data": rows, "meta": {"total": 120}})
    )
    assert (response.total, response.next) == (120, 100)
    assert response.result[0] == {"ID": "id0", "STARTED": "2026-01-01T00:00:00+00:00"}
    last = parse_gateway_response(
        request, 200, _body({"success": True, "data": rows[:20], "meta": {"total": 70}})
    )
    assert (last.total, last.next) == (70, None)


def test_default_select_is_the_rest_default() -> None:
    request = build_request("bizproc.workflow.instances", {})
    row = {"ID": "a", "MODIFIED": "m", "OWNED_UNTIL": None, "STARTED": "s"}
    response = parse_gateway_response(
        request, 200, _body({"success": True, "data": [row], "meta": {"total": 1}})
    )
    assert response.result == [{"ID": "a", "MODIFIED": "m", "OWNED_UNTIL": None}]


def test_template_rows_get_rest_field_names() -> None:
    request = build_request("bizproc.workflow.template.list", {"SELECT": ["*"]})
    row = {"id": 5, "name": "Approve", "documentType": ["crm", "CCrmDocumentDeal", "DEAL"], "autoExecute": 0}
    response = parse_gateway_response(
        request, 200, _body({"success": True, "data": [row], "meta": {"total": 1}})
    )
    assert response.result == [
        {"ID": 5, "NAME": "Approve", "DOCUMENT_TYPE": ["crm", "CCrmDocumentDeal", "DEAL"], "AUTO_EXECUTE": 0}
    ]


def test_start_returns_the_workflow_id() -> None:
    request = build_request("bizproc.workflow.start", {"TEMPLATE_ID": 1, "DOCUMENT_ID": DocumentId.lead(3)})
    body = _body({"success": True, "data": {"workflowId": "69f0c2d5ade389.22457798"}})
    assert parse_gateway_response(request, 200, body).result == "69f0c2d5ade389.22457798"


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "MISSING_API_KEY", InvalidCredentialsError),
        (401, "INVALID_API_KEY", InvalidCredentialsError),
        (401, "TOKEN_MISSING", InvalidCredentialsError),
        (401, "TOKEN_EXPIRED", ExpiredTokenError),
        (403, "SCOPE_DENIED", AccessDeniedError),
        (403, "BITRIX_ACCESS_DENIED", AccessDeniedError),
        (404, "ENTITY_NOT_FOUND", WorkflowNotFoundError),  # on kill: the workflow is gone (a NotFoundError)
        (429, "RATE_LIMITED", QueryLimitError),
        (502, "BITRIX_UNAVAILABLE", ServerError),
        (400, "SOMETHING_NEW", ValidationError),
    ],
)
def test_error_envelopes_map_onto_the_typed_errors(status: int, code: str, cls: type[BitrixError]) -> None:
    request = build_request("bizproc.workflow.kill", {"ID": "x"})
    body = _body({"success": False, "error": {"code": code, "message": "No luck", "hint": "try again"}})
    with pytest.raises(cls) as caught:
        parse_gateway_response(request, status, body)
    error = caught.value
    assert type(error) is cls
    assert (error.code, error.status, error.method) == (code, status, "bizproc.workflow.kill")
    assert "No luck" in error.description and error.details["hint"] == "try again"


def test_retry_after_comes_from_the_header_else_the_body() -> None:
    request = build_request("bizproc.workflow.instances", {})
    body = _body(
        {"success": False, "error": {"code": "RATE_LIMITED", "message": "slow down", "retryAfter": 2}}
    )
    with pytest.raises(QueryLimitError) as from_body:
        parse_gateway_response(request, 429, body)
    assert from_body.value.retry_after == 2
    with pytest.raises(QueryLimitError) as from_header:
        parse_gateway_response(request, 429, body, retry_after="1")
    assert from_header.value.retry_after == 1


def test_an_html_error_page_is_a_server_error_with_an_excerpt() -> None:
    request = build_request("bizproc.workflow.instances", {})
    with pytest.raises(ServerError, match="Bad Gateway"):
        parse_gateway_response(request, 502, b"<html><h1>502 Bad Gateway</h1></html>")
