"""What the OpenAI-compatible adapter's upstream call costs per call, in CPU µs, on
its direct aiohttp path (providers/direct_client.py) and on the httpx path it
replaced, in one process, against the fake upstream (issue 17).

    python bench/adapter_cost.py [--calls 20000] [--concurrency 16]

The fake upstream runs in its own process (its CPU is not counted). Here, on
uvloop, ``OpenAICompatAdapter.complete`` and ``.stream`` (the benchmark's
10-chunk stream, read to its end) run ``--calls`` times at ``--concurrency``, on
the adapter the registry builds, once as it is (direct) and once with its direct
client taken away (httpx over the same aiohttp pool, as before issue 17). CPU is
``time.process_time()``; the runs alternate, twice each, and the lower figure of
each counts (the machine is shared). The last line is machine-readable:

    plain_direct_us=A plain_httpx_us=B stream_direct_us=C stream_httpx_us=D
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import procs
import uvloop
from pydantic import SecretStr

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.providers.base import UpstreamTarget
from modelgate.providers.openai_compat import OpenAICompatAdapter
from modelgate.providers.registry import ProviderRegistry

HERE = Path(__file__).parent
BODY = {"model": "gpt-5.5", "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 32}


async def run(adapter: OpenAICompatAdapter, target: UpstreamTarget, *, stream: bool,
              calls: int, concurrency: int) -> float:
    """CPU µs per call over ``calls`` calls at ``concurrency``."""
    request = ChatCompletionRequest.model_validate({**BODY, "stream": stream})
    body = {**BODY, "stream": stream}
    left = [calls]

    async def caller() -> None:
        while left[0] > 0:
            left[0] -= 1
            if stream:
                async for _ in adapter.stream(request, body, target):
                    pass
            else:
                await adapter.complete(request, body, target)

    started = time.process_time()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return (time.process_time() - started) * 1e6 / calls


async def measure(upstream: str, calls: int, concurrency: int) -> dict[str, float]:
    registry = ProviderRegistry.build({"openai": "openai"})
    adapter = registry.adapter_for("openai")
    assert isinstance(adapter, OpenAICompatAdapter)
    direct = adapter._direct
    assert direct is not None, "the registry's client should allow the direct path"
    target = UpstreamTarget(provider_id="openai", base_url=f"{upstream}/v1",
                            api_key=SecretStr("sk-bench"), model="gpt-5.5")
    figures: dict[str, float] = {}
    try:
        for stream in (False, True):
            kind = "stream" if stream else "plain"
            await run(adapter, target, stream=stream, calls=min(calls, 2000),
                      concurrency=concurrency)  # warm-up: pool, caches
            for _ in range(2):
                for path in ("direct", "httpx"):
                    adapter._direct = direct if path == "direct" else None
                    cost = await run(adapter, target, stream=stream, calls=calls,
                                     concurrency=concurrency)
                    key = f"{kind}_{path}_us"
                    figures[key] = round(min(figures.get(key, cost), cost), 1)
            adapter._direct = direct
    finally:
        await registry.close_all()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="modelgate-adapter-cost-"))
    port = procs.free_port()
    upstream = procs.start(
        "fake-upstream",
        [sys.executable, str(HERE / "fake_upstream.py"), "--port", str(port), "--chunks", "10"],
        port=port, log_dir=workdir,
    )
    try:
        figures = uvloop.run(measure(upstream.url, args.calls, args.concurrency))
    finally:
        upstream.stop()
    print(f"adapter upstream call, CPU µs per call, {args.calls:,} calls at c={args.concurrency} "
          "(lower of two runs each):")
    for kind in ("plain", "stream"):
        direct, via = figures[f"{kind}_direct_us"], figures[f"{kind}_httpx_us"]
        print(f"  {kind:<6} direct {direct:>7.1f}   httpx {via:>7.1f}   saved {via - direct:>6.1f}")
    print(" ".join(f"{key}={value}" for key, value in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
