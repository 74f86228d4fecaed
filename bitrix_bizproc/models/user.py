"""Users, as returned by ``user.get``."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs

from .converter import wire

__all__ = ["User"]


@attrs.frozen
class User:
    """One portal user; fields the scope or ``select`` left out are ``None``, the rest stay in ``extra``."""

    id: int | None = attrs.field(default=None, metadata=wire("ID"))
    active: bool | None = attrs.field(default=None, metadata=wire("ACTIVE"))
    name: str | None = attrs.field(default=None, metadata=wire("NAME"))
    last_name: str | None = attrs.field(default=None, metadata=wire("LAST_NAME"))
    second_name: str | None = attrs.field(default=None, metadata=wire("SECOND_NAME"))
    email: str | None = attrs.field(default=None, metadata=wire("EMAIL"))
    xml_id: str | None = attrs.field(default=None, metadata=wire("XML_ID"))
    user_type: str | None = attrs.field(default=None, metadata=wire("USER_TYPE"))
    is_online: bool | None = attrs.field(default=None, metadata=wire("IS_ONLINE", yn=True))
    last_login: _dt.datetime | None = attrs.field(default=None, metadata=wire("LAST_LOGIN"))
    date_register: _dt.datetime | None = attrs.field(default=None, metadata=wire("DATE_REGISTER"))
    timestamp_x: _dt.datetime | None = attrs.field(default=None, metadata=wire("TIMESTAMP_X"))
    last_activity_date: _dt.datetime | None = attrs.field(default=None, metadata=wire("LAST_ACTIVITY_DATE"))
    time_zone: str | None = attrs.field(default=None, metadata=wire("TIME_ZONE"))
    work_position: str | None = attrs.field(default=None, metadata=wire("WORK_POSITION"))
    work_phone: str | None = attrs.field(default=None, metadata=wire("WORK_PHONE"))
    personal_mobile: str | None = attrs.field(default=None, metadata=wire("PERSONAL_MOBILE"))
    personal_gender: str | None = attrs.field(default=None, metadata=wire("PERSONAL_GENDER"))
    personal_birthday: _dt.datetime | None = attrs.field(default=None, metadata=wire("PERSONAL_BIRTHDAY"))
    employment_date: _dt.datetime | None = attrs.field(default=None, metadata=wire("UF_EMPLOYMENT_DATE"))
    departments: list[int] | None = attrs.field(default=None, metadata=wire("UF_DEPARTMENT"))
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def full_name(self) -> str:
        """First, second and last name, as far as known."""
        return " ".join(p for p in (self.name, self.second_name, self.last_name) if p)
