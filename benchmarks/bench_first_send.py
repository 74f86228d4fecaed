"""What comes before the first request of 10,000 terminations: the composer's add loop and its start, and
``auto_batch`` awaits' start, against a transport that answers at once (no network, no portal).

- ``add``: the user's loop adding 10,000 ``batch.workflows.terminate(wf)`` (nothing is sent until it ends);
- ``add -> first send``: from the end of that loop to the first batch handed to the transport;
- ``gather -> first send``: ``asyncio.gather(*(client.workflows.terminate(wf) ...))`` with ``auto_batch``,
  from the call of ``gather`` (the calls built) to the first batch handed to the transport;
- CPU per item of each whole run (``time.process_time()``; the fake transport's JSON work included).

Each figure is the median (time) or the best (CPU) of ``--runs`` runs.

    python benchmarks/bench_first_send.py
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time

from bitrix_bizproc import BizprocClient
from bitrix_bizproc._transport import HttpRequest, HttpResponse

URL = "https://bench.example.com/rest/1/benchcode0001/"
TIME = {"start": 1.5, "finish": 1.6, "duration": 0.1, "processing": 0.1, "operating": 0}


class InstantTransport:
    """Answers every batch at once with each command done; notes when the first request arrived."""

    def __init__(self) -> None:
        self.first: float | None = None

    async def send(self, request: HttpRequest) -> HttpResponse:
        if self.first is None:
            self.first = time.perf_counter()
        keys = json.loads(request.body or b"{}")["cmd"]
        result = {"result": dict.fromkeys(keys, True), "result_time": dict.fromkeys(keys, TIME)}
        body = {"result": {**result, "result_error": [], "result_total": [], "result_next": []}, "time": TIME}
        return HttpResponse(200, json.dumps(body).encode(), {})

    async def aclose(self) -> None:
        pass


async def composer(ids: list[str]) -> tuple[float, float, float]:
    """Seconds of the add loop, seconds from its end to the first send, CPU seconds of the whole run."""
    transport = InstantTransport()
    async with BizprocClient.from_webhook(URL, limiter="off", transport=transport) as client:
        gc.collect()
        cpu = time.process_time()
        async with client.batch() as batch:
            started = time.perf_counter()
            for wf in ids:
                batch.workflows.terminate(wf)
            added = time.perf_counter()
        cpu = time.process_time() - cpu
    assert transport.first is not None and all(c.ok for c in batch.results)
    return added - started, transport.first - added, cpu


async def awaits(ids: list[str]) -> tuple[float, float]:
    """Seconds from gather to the first send, CPU seconds of the whole run."""
    transport = InstantTransport()
    async with BizprocClient.from_webhook(URL, limiter="off", transport=transport, auto_batch=True) as client:
        gc.collect()
        cpu = time.process_time()
        calls = [client.workflows.terminate(wf) for wf in ids]
        started = time.perf_counter()
        outcomes = await asyncio.gather(*calls)
        cpu = time.process_time() - cpu
    assert transport.first is not None and outcomes == [True] * len(ids)
    return transport.first - started, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    ids = [f"{n:014x}.{n:08d}" for n in range(args.items)]
    built = [asyncio.run(composer(ids)) for _ in range(args.runs)]
    gathered = [asyncio.run(awaits(ids)) for _ in range(args.runs)]
    per_item = 1e6 / args.items
    add = statistics.median(b[0] for b in built)
    print(
        f"composer   add {add * 1e3:6.1f} ms ({add * per_item:.2f} us per command), "
        f"add -> first send {statistics.median(b[1] for b in built) * 1e3:5.2f} ms, "
        f"CPU {min(b[2] for b in built) * per_item:5.1f} us per item"
    )
    print(
        f"auto_batch gather -> first send {statistics.median(g[0] for g in gathered) * 1e3:6.1f} ms, "
        f"CPU {min(g[1] for g in gathered) * per_item:5.1f} us per item"
    )


if __name__ == "__main__":
    main()
