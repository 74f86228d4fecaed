"""A real redis-server on a free loopback port for the whole session (tests skip if it is not installed).

Test modules skip themselves when redis-py is missing (the core does not need it). The directory is not
called ``tests/redis``: with ``tests/`` on ``sys.path`` a package of that name would shadow redis-py.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from redis.asyncio import Redis

NO_REDIS_PY = "redis-py is not installed (pip install 'bitrix_bizproc[redis]')"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_port() -> Iterator[int]:
    """Start ``redis-server`` without persistence on a free port; stop it when the session ends."""
    redis = pytest.importorskip("redis", reason=NO_REDIS_PY)
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        probe = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10.0
        while True:
            try:
                if probe.ping():
                    break
            except redis.exceptions.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.02)
        probe.close()
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
async def redis_client(redis_port: int) -> AsyncIterator[Redis]:
    """An asyncio client of the session's server."""
    from redis.asyncio import Redis

    client = Redis(host="127.0.0.1", port=redis_port)
    yield client
    await client.aclose()


@pytest.fixture
def key() -> str:
    """A key prefix of this test's own."""
    return f"test:{uuid.uuid4().hex}"
