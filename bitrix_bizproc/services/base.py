"""The base of every namespace: argument checks become a :class:`Call`, which an executor sends or queues."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from .._call import Call, Pending, ResultParser, result_of
from ..models.converter import structure
from ..models.filters import FilterLike, ListSpec
from ..models.page import Page
from ..protocol.batch import plain_text
from ..protocol.encoding import normalize, wire_params
from ..protocol.envelope import ApiResponse
from ..protocol.methods import MethodInfo, method_info
from . import _checks

if TYPE_CHECKING:
    from .._paging import Paginator

__all__ = ["Service", "ServiceExecutor", "Walker", "WalkingService"]

T = TypeVar("T")


class ServiceExecutor(Protocol):
    """Where a namespace sends its calls: the client's executor, or a batch's."""

    def submit(self, call: Call[T]) -> Pending[T]:
        """Send (or queue) ``call``."""
        ...


class Walker(Protocol):
    """Starts a lazy walk over a list method (the client's ``paginate``)."""

    def __call__(
        self, method: str, params: Mapping[str, Any] | None = None, **options: Any
    ) -> Paginator[Any]:
        """A :class:`~bitrix_bizproc.Paginator` over ``method``."""
        ...


@ResultParser
def true_result(result: Any) -> bool:
    """``result: true`` -> ``True``."""
    return result is True or result in (1, "1", "Y")


@ResultParser
def string_list(result: Any) -> list[str]:
    """A list of codes (PHP may send it as a map)."""
    if isinstance(result, Mapping):
        result = list(result.values())
    return [str(code) for code in result or []]


def rows(model: type[T]) -> Callable[[Any], T]:
    """The row parser for a list of ``model``."""

    def parse(row: Any) -> T:
        return structure(row, model)

    return parse


def page_of(model: type[T]) -> Callable[[ApiResponse], Page[T]]:
    """The parser for one page of ``model`` rows."""
    item = rows(model)

    def parse(response: ApiResponse) -> Page[T]:
        return Page.from_response(response, item)

    return parse


@attrs.frozen
class Listing(Generic[T]):
    """A list method: its ``FILTER``/``SELECT``/``ORDER`` rules, its row model and how its pages go."""

    spec: ListSpec
    model: type[T]
    method: str = attrs.field(default=attrs.Factory(lambda self: self.spec.method, takes_self=True))
    page_form: str = "list_page"  # the one-page method to use inside a batch
    numeric_id: bool = True  # whether a keyset walk (ID > last) is possible
    allow_no_count: bool = True  # whether ``start=-1`` (skip the count) is supported
    default_select: tuple[str, ...] | None = None  # sent when the caller gives no select (None: the portal's)

    def params(
        self, filter: FilterLike | None, select: Sequence[str] | None, order: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """Checked ``FILTER``/``SELECT``/``ORDER`` (upper-case keys, as in the docs); absent ones left out.

        Without a ``select`` of the caller's, ``default_select`` is sent (when set).
        """
        if select is None and self.default_select is not None:
            select = self.default_select
        checked = {
            "FILTER": self.spec.check_filter(filter),
            "SELECT": self.spec.check_select(select),
            "ORDER": self.spec.check_order(order),
        }
        return {key: value for key, value in checked.items() if value is not None}


class Service:
    """A namespace of methods; ``executor`` sends (client) or queues (batch) the calls it builds."""

    def __init__(self, executor: ServiceExecutor) -> None:
        self._executor = executor

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def _submit(
        self, method: str, params: Mapping[str, Any], parse: Callable[[ApiResponse], T] = result_of
    ) -> Pending[T]:
        """Encode ``params`` (``None`` values dropped) and hand the call to the executor."""
        info = method_info(method)
        wire = wire_params(params, what=method)  # refused here, not as a whole batch chunk later
        call: Call[T] = Call(method, wire, parse=parse, idempotent=not info.creates, batchable=info.batchable)
        return self._executor.submit(call)

    def _submit_text(
        self, info: MethodInfo, name: str, text: str, parse: Callable[[ApiResponse], T]
    ) -> Pending[T]:
        """Hand over a call whose one parameter ``name`` is a checked text (an ID): a wire value already.

        The fast way of :meth:`_submit` for the calls a bulk job makes by the thousand: nothing to
        encode, and a batch need not survey it (unless the text looks like a reference).
        """
        plain = info.batchable and ("$" not in text or plain_text(text))
        call: Call[T] = Call(info.name, {name: text}, parse, not info.creates, info.batchable, plain)
        return self._executor.submit(call)

    def _page(self, listing: Listing[T], params: dict[str, Any], start: int) -> Pending[Page[T]]:
        """One page of ``listing`` from offset ``start`` (checked after ``params``)."""
        params["start"] = _checks.offset(start, allow_no_count=listing.allow_no_count)
        return self._submit(listing.method, params, page_of(listing.model))


class WalkingService(Service):
    """A namespace that also walks list methods page by page, with the ``walk`` it is handed."""

    def __init__(self, executor: ServiceExecutor, walk: Walker) -> None:
        super().__init__(executor)
        self._walk = walk

    def _paginate(
        self,
        listing: Listing[T],
        params: Mapping[str, Any],
        *,
        strategy: str,
        limit: int | None,
        progress: Callable[[int, int | None], None] | None,
    ) -> Paginator[T]:
        """A lazy walk over every page (see :class:`~bitrix_bizproc._paging.Paginator`)."""
        walk: Paginator[T] = self._walk(
            listing.method,
            normalize(dict(params)),
            item=rows(listing.model),
            id_key="ID",
            numeric_id=listing.numeric_id,
            strategy=strategy,
            limit=limit,
            progress=progress,
        )
        return walk
