"""``client.users``: find users (``user.get``), e.g. dismissed employees whose tasks need a new owner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .._call import Pending
from ..models.filters import USER_SPEC, FilterLike, check_direction
from ..models.page import Page, page_items
from ..models.user import User
from ..protocol.envelope import ApiResponse
from ..protocol.errors import ClientValidationError
from . import _checks
from .base import Listing, Service, WalkingService, rows

if TYPE_CHECKING:
    from .._paging import Paginator

__all__ = ["UserCommands", "UsersService"]

_IMAGE_SIZES = ("small", "medium", "large")
_USERS = Listing(USER_SPEC, User, page_form="get_page")
_user = rows(User)


def _first_user(response: ApiResponse) -> User | None:
    users = page_items(response, _user)  # every row read, as a page would, but no page built
    return users[0] if users else None


class UserCommands(Service):
    """Users (``user.get``); which fields come back depends on the scope (``user``, ``user_brief``...).

    The single calls: what a batch carries (``batch.users``).
    """

    def get_page(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str] | None = None,
        sort: str | None = None,
        order: str | None = None,
        admin_mode: bool = False,
        image_resize: str | None = None,
        start: int = 0,
    ) -> Pending[Page[User]]:
        """One page of users matching ``filter`` (``ACTIVE: False`` finds dismissed ones), by ``ID`` ascending
        unless ``sort``/``order`` say otherwise.

        Any user; ``admin_mode`` (administrators) sees every user.
        Docs: https://apidocs.bitrix24.com/api-reference/user/user-get.html
        """
        params = _USERS.params(filter, select, None)
        if sort is not None:
            (params["SORT"],) = USER_SPEC.check_select([sort]) or []
        if order is not None:
            params["ORDER"] = check_direction(order, "user.get")
        if image_resize is not None and image_resize not in _IMAGE_SIZES:
            raise ClientValidationError(f"image_resize must be one of {', '.join(_IMAGE_SIZES)}")
        params["IMAGE_RESIZE"] = image_resize
        params["ADMIN_MODE"] = True if admin_mode else None
        return self._page(_USERS, params, start)

    def get(self, user_id: int, *, admin_mode: bool = False) -> Pending[User | None]:
        """The user ``user_id``, or ``None`` if there is none (or you may not see them).

        Any user.
        Docs: https://apidocs.bitrix24.com/api-reference/user/user-get.html
        """
        params = {"FILTER": {"ID": _checks.positive_id(user_id, "user_id")}, "ADMIN_MODE": admin_mode or None}
        return self._submit("user.get", params, _first_user)


class UsersService(UserCommands, WalkingService):
    """The single calls, and the walks over every page (not available in a batch)."""

    def list(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str] | None = None,
        admin_mode: bool = False,
        strategy: str = "auto",
        limit: int | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Paginator[User]:
        """Every user matching ``filter``, by ``ID``, page after page (``async for user in ...``).

        Any user; ``admin_mode`` (administrators) sees every user.
        Docs: https://apidocs.bitrix24.com/api-reference/user/user-get.html
        """
        params = _USERS.params(filter, select, None)
        if admin_mode:
            params["ADMIN_MODE"] = True
        return self._paginate(_USERS, params, strategy=strategy, limit=limit, progress=progress)
