"""What the far side can do: the REST portal or the Vibecode gateway (pure data, no I/O).

A session carries one :class:`Dialect`; the paginator and the jobs read it instead of probing the session:
whether lists page by keyset (``start=-1`` and ``>ID``), which fields a list method filters on (the rest
are applied to the rows by the client where it can, see :mod:`.local_filters`), and which order a list
method is fixed to.

==========================  ==================  ==============================================
capability                  REST portal          Vibecode gateway
==========================  ==================  ==============================================
``batch``                   yes (50 commands)    ``POST /v1/batch`` if offered, else one by one
``keyset_paging``           yes                  no: offsets only
``served_filters(method)``  every field          instances: ``TEMPLATE_ID``, ``STARTED_BY``
``list_order(method)``      the caller's         instances: ``MODIFIED DESC`` only
==========================  ==================  ==============================================
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .vibecode import GATEWAY_FILTERS, GATEWAY_ORDER

__all__ = ["PORTAL", "VIBECODE", "Dialect"]


def _name(method: str) -> str:
    return method.lower().removesuffix(".json")


@attrs.frozen
class Dialect:
    """The capabilities of one far side (``filters=None``: every field is filterable)."""

    name: str
    batch: bool = True
    keyset_paging: bool = True
    filters: Mapping[str, frozenset[str]] | None = None
    orders: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)

    def served_filters(self, method: str) -> frozenset[str] | None:
        """The fields ``method`` can be filtered on (``None``: all of them)."""
        return None if self.filters is None else self.filters.get(_name(method), frozenset())

    def list_order(self, method: str) -> Mapping[str, str] | None:
        """The only order ``method`` lists in, if the far side fixes one."""
        return self.orders.get(_name(method))


PORTAL = Dialect("the REST portal")
VIBECODE = Dialect("the Vibecode gateway", keyset_paging=False, filters=GATEWAY_FILTERS, orders=GATEWAY_ORDER)
