"""Fixtures: an emulated portal serving the Vibecode gateway's routes, and clients connected through it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal, ManualClock
from bitrix_bizproc.emulator.vibecode import VibecodeGateway
from bitrix_bizproc.protocol.retry import RetryPolicy

DEAL_TYPE = ["crm", "CCrmDocumentDeal", "DEAL"]


class FakeTime:
    """The emulator's manual clock, and a sleep that moves it instead of waiting (sleeps are recorded)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(max(0.0, seconds))
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    """A manual clock shared by the emulated gateway and the client."""
    return FakeTime(ManualClock())


@pytest.fixture
async def portal(fake_time: FakeTime) -> AsyncIterator[EmulatedPortal]:
    """An emulated portal (limits off) serving the gateway's /v1 routes too, on the manual clock."""
    portal = EmulatedPortal(clock=fake_time.clock)
    await portal.start()
    try:
        yield portal
    finally:
        await portal.stop()


@pytest.fixture
def gateway(portal: EmulatedPortal) -> VibecodeGateway:
    """The portal's emulated gateway."""
    return portal.vibecode


Connect = Callable[..., BizprocClient]


@pytest.fixture
async def connect(gateway: VibecodeGateway, fake_time: FakeTime) -> AsyncIterator[Connect]:
    """``connect(key, token=None, **options)``: a client on the gateway (limiter off, fake sleep)."""
    clients: list[BizprocClient] = []

    def make(api_key: str, session_token: str | None = None, **options: Any) -> BizprocClient:
        options.setdefault("limiter", "off")
        options.setdefault("retry", RetryPolicy(max_attempts=3))
        client = BizprocClient.from_vibecode(
            api_key,
            session_token=session_token,
            base_url=gateway.base_url,
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def key(portal: EmulatedPortal) -> str:
    """A personal key of the admin (user 1) with the bizproc scope."""
    return portal.add_vibecode_key(user_id=1, scopes={"bizproc", "user"})


@pytest.fixture
def client(connect: Connect, key: str) -> BizprocClient:
    """The admin's client through the gateway with a personal key."""
    return connect(key)
