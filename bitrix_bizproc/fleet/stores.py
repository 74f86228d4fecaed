"""Token stores for many portals, keyed by ``member_id``: in memory, in a directory (Redis: ``.redis``).

An app's install event feeds them (``save(member_id, tokens)``), its uninstall event empties them
(``remove(member_id)``); ``for_portal(member_id)`` is the single-portal :class:`TokenStore` one client uses,
so every token rotation of that portal lands back here.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from .._auth import JsonFileTokenStore, TokenStore
from ..protocol.auth import OAuthTokens
from ..protocol.errors import ConfigurationError

__all__ = [
    "FilePortalStore",
    "MemoryPortalStore",
    "PortalTokenStore",
    "check_member_id",
    "domain_of",
    "unindexed_domain",
]

_MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DOMAIN = re.compile(r"[A-Za-z0-9.-]{1,253}")


def check_member_id(member_id: object) -> str:
    """``member_id`` if it is a portal id (letters, digits, ``_``, ``-``; up to 64)."""
    if not isinstance(member_id, str) or not _MEMBER_ID.fullmatch(member_id):
        raise ConfigurationError(f"member_id must be 1-64 letters, digits, '_' or '-', got {member_id!r}")
    return member_id


def domain_of(tokens: OAuthTokens, domain: str | None = None) -> str:
    """The portal's domain: ``domain`` if given, else the host of ``client_endpoint`` (lower case)."""
    found = domain if domain is not None else (urlsplit(tokens.client_endpoint).hostname or "")
    if not isinstance(found, str) or not _DOMAIN.fullmatch(found):
        raise ConfigurationError(f"not a portal domain: {found!r}")
    return found.lower()


class PortalTokenStore(Protocol):
    """OAuth tokens of many portals, by ``member_id``, with a domain index."""

    async def load(self, member_id: str) -> OAuthTokens | None:
        """The portal's tokens, or ``None`` if it has none (never installed, or uninstalled)."""
        ...

    async def save(self, member_id: str, tokens: OAuthTokens, *, domain: str | None = None) -> None:
        """Store the portal's tokens (install or rotation); ``domain`` defaults to the endpoint's host."""
        ...

    async def remove(self, member_id: str) -> None:
        """Forget the portal (its app was uninstalled)."""
        ...

    async def members(self) -> list[str]:
        """Every portal with tokens, sorted."""
        ...

    async def member_for_domain(self, domain: str) -> str | None:
        """The ``member_id`` of the portal at ``domain``, if known."""
        ...

    def for_portal(self, member_id: str) -> TokenStore:
        """The single-portal token store of ``member_id`` (what one client loads from and saves to)."""
        ...


class _DomainIndex(Protocol):
    async def member_for_domain(self, domain: str) -> str | None: ...

    async def domain_of_member(self, member_id: str) -> str | None: ...


async def unindexed_domain(store: _DomainIndex, member_id: str, tokens: OAuthTokens) -> str | None:
    """The endpoint's host to index for a portal saved through its view, if it has no domain recorded yet.

    A rotation keeps the domain the install recorded, and a host another portal holds is left to it.
    """
    try:
        host = domain_of(tokens)
    except ConfigurationError:  # an endpoint without a usable host: the tokens still count, unindexed
        return None
    if await store.member_for_domain(host) is not None or await store.domain_of_member(member_id) is not None:
        return None
    return host


class _PortalView:
    """One portal's slice of a :class:`PortalTokenStore`, as a :class:`TokenStore`."""

    def __init__(self, store: PortalTokenStore, member_id: str) -> None:
        self.store = store
        self.member_id = member_id

    async def load(self) -> OAuthTokens | None:
        """The portal's tokens."""
        return await self.store.load(self.member_id)

    async def save(self, tokens: OAuthTokens) -> None:
        """Store a rotated pair (the domain index stays as it is)."""
        await self.store.save(self.member_id, tokens, domain=await self._domain())

    async def save_if_empty(self, tokens: OAuthTokens) -> OAuthTokens:
        """Store ``tokens`` only if the portal has none yet; the pair stored afterwards."""
        stored = await self.store.load(self.member_id)
        if stored is not None:
            return stored
        await self.save(tokens)
        return tokens

    async def delete(self) -> None:
        """Forget the portal (the app was uninstalled): as ``store.remove(member_id)``."""
        await self.store.remove(self.member_id)

    async def _domain(self) -> str | None:
        finder = getattr(self.store, "domain_of_member", None)
        return await finder(self.member_id) if finder is not None else None

    def __repr__(self) -> str:
        return f"{type(self.store).__name__}.for_portal({self.member_id!r})"


class _FilePortalView(JsonFileTokenStore):
    """One portal's file of a :class:`FilePortalStore`; ``delete()`` also drops its domain entry."""

    def __init__(self, owner: FilePortalStore, member_id: str) -> None:
        super().__init__(owner.directory / f"{check_member_id(member_id)}.json")
        self._owner = owner
        self._member_id = member_id

    async def save(self, tokens: OAuthTokens) -> None:
        """Write the portal's file (a member from then on) and index its domain if none is yet."""
        await super().save(tokens)
        await self._owner.index_domain(self._member_id, tokens)

    async def save_if_empty(self, tokens: OAuthTokens) -> OAuthTokens:
        """Write ``tokens`` only if the portal has none yet (indexed as :meth:`save` does)."""
        stored = await super().save_if_empty(tokens)
        await self._owner.index_domain(self._member_id, stored)
        return stored

    async def delete(self) -> None:
        """Forget the portal (the app was uninstalled): as ``store.remove(member_id)``."""
        await self._owner.remove(self._member_id)


class MemoryPortalStore:
    """Tokens of many portals in memory (one process; lost when it exits)."""

    def __init__(self) -> None:
        self._tokens: dict[str, OAuthTokens] = {}
        self._domains: dict[str, str] = {}  # member_id -> domain

    async def load(self, member_id: str) -> OAuthTokens | None:
        """The portal's tokens."""
        return self._tokens.get(check_member_id(member_id))

    async def save(self, member_id: str, tokens: OAuthTokens, *, domain: str | None = None) -> None:
        """Hold the portal's tokens."""
        self._domains[check_member_id(member_id)] = domain_of(tokens, domain)
        self._tokens[member_id] = tokens

    async def remove(self, member_id: str) -> None:
        """Forget the portal."""
        self._tokens.pop(member_id, None)
        self._domains.pop(member_id, None)

    async def members(self) -> list[str]:
        """Every portal held."""
        return sorted(self._tokens)

    async def member_for_domain(self, domain: str) -> str | None:
        """The portal at ``domain``."""
        wanted = domain.lower()
        return next((m for m, d in self._domains.items() if d == wanted), None)

    async def domain_of_member(self, member_id: str) -> str | None:
        """The domain recorded for the portal."""
        return self._domains.get(member_id)

    def for_portal(self, member_id: str) -> TokenStore:
        """The portal's single-portal store."""
        return _PortalView(self, check_member_id(member_id))

    def __repr__(self) -> str:
        return f"MemoryPortalStore(portals={len(self._tokens)})"


class FilePortalStore:
    """One JSON file per portal in ``directory`` (``<member_id>.json``, mode 0600, replaced atomically).

    The domain index is ``domains/<domain>`` holding the member_id. Safe for processes on one machine
    that never write the same portal at once (a refresh of one portal happens in one process at a time
    only with a lock: use :class:`~bitrix_bizproc.fleet.redis.RedisPortalStore` for workers).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _file(self, member_id: str) -> JsonFileTokenStore:
        return JsonFileTokenStore(self.directory / f"{check_member_id(member_id)}.json")

    async def load(self, member_id: str) -> OAuthTokens | None:
        """The portal's tokens from its file."""
        return await self._file(member_id).load()

    async def save(self, member_id: str, tokens: OAuthTokens, *, domain: str | None = None) -> None:
        """Write the portal's file and its domain entry."""
        found = domain_of(tokens, domain)
        await self._file(member_id).save(tokens)
        await asyncio.to_thread(self._write_domain, found, member_id)

    async def index_domain(self, member_id: str, tokens: OAuthTokens) -> None:
        """After a save through the portal's view: index the endpoint's host if the portal has no domain."""
        domain = await unindexed_domain(self, member_id, tokens)
        if domain is not None:
            await asyncio.to_thread(self._write_domain, domain, member_id)

    def _write_domain(self, domain: str, member_id: str) -> None:
        folder = self.directory / "domains"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{domain}.tmp"
        tmp.write_text(member_id, encoding="utf-8")
        os.replace(tmp, folder / domain)

    async def remove(self, member_id: str) -> None:
        """Delete the portal's file and domain entry."""
        (self.directory / f"{check_member_id(member_id)}.json").unlink(missing_ok=True)
        domain = await self.domain_of_member(member_id)
        if domain is not None:
            (self.directory / "domains" / domain).unlink(missing_ok=True)

    async def members(self) -> list[str]:
        """Every portal with a file."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if _MEMBER_ID.fullmatch(p.stem))

    async def member_for_domain(self, domain: str) -> str | None:
        """The portal at ``domain``."""
        if not _DOMAIN.fullmatch(domain):
            return None
        try:
            return (self.directory / "domains" / domain.lower()).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    async def domain_of_member(self, member_id: str) -> str | None:
        """The domain recorded for the portal."""
        folder = self.directory / "domains"
        if not folder.is_dir():
            return None
        for entry in folder.iterdir():
            if not entry.name.startswith(".") and entry.read_text(encoding="utf-8").strip() == member_id:
                return entry.name
        return None

    def for_portal(self, member_id: str) -> TokenStore:
        """The portal's file as a single-portal store (a save indexes the domain only if none is yet)."""
        return _FilePortalView(self, member_id)

    def __repr__(self) -> str:
        return f"FilePortalStore({str(self.directory)!r})"
