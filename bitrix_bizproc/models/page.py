"""One page of a list method: its items, the ``total`` count and the ``next`` offset."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import attrs

from ..protocol.envelope import ApiResponse

__all__ = ["Page", "page_items"]

T = TypeVar("T")


def page_items(response: ApiResponse, item: Callable[[Any], T]) -> list[T]:
    """The rows of a list answer, each converted with ``item`` (what :meth:`Page.from_response` holds)."""
    rows = response.result
    if isinstance(rows, dict):  # PHP sends a list with gaps in its keys as a map
        rows = list(rows.values())
    return [item(row) for row in rows or []]


@attrs.frozen
class Page(Generic[T]):
    """A page of results; ``next`` is the ``start`` of the following page, ``None`` on the last one.

    ``list_page()``/``instances_page()`` return it, and ``Paginator.pages()`` yields it (there ``items`` holds
    the page's new rows, repeats removed, and ``next`` is ``None`` when the walk does not page by offset).
    """

    items: list[T]
    total: int | None = None
    next: int | None = None

    @classmethod
    def from_response(cls, response: ApiResponse, item: Callable[[Any], T]) -> Page[T]:
        """Build a page from a list answer, converting each row with ``item``."""
        return cls(items=page_items(response, item), total=response.total, next=response.next)

    @property
    def has_more(self) -> bool:
        """Whether another page follows."""
        return self.next is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
