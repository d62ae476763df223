"""Open N server-sent-event streams at once and read them for a while; print a JSON summary.

Run as a separate process by ``test_web_load.py`` so that the clients' work does not share the
server's interpreter: ``python sse_clients.py URL N SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx


async def watch(client: httpx.AsyncClient, url: str, until: float, out: dict) -> None:
    try:
        async with client.stream("GET", url) as response:
            out["status"] = response.status_code
            if response.status_code != 200:
                out["error"] = f"status {response.status_code}"
                return
            async for line in response.aiter_lines():
                if line == "event: day":
                    out["days"] += 1
                elif line == "event: state":
                    out["states"] += 1
                if time.monotonic() >= until:
                    out["held"] = True
                    return
            out["error"] = "stream ended early"
    except Exception as error:
        out["error"] = f"{type(error).__name__}: {error}"


async def main(url: str, n: int, seconds: float) -> dict:
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    timeout = httpx.Timeout(30.0, read=40.0)
    results = [
        {"days": 0, "states": 0, "held": False, "error": None, "status": None} for _ in range(n)
    ]
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(*(watch(client, url, until, r) for r in results))
    errors = [r["error"] for r in results if r["error"]]
    return {
        "clients": n,
        "held": sum(r["held"] for r in results),
        "errors": errors[:5],
        "n_errors": len(errors),
        "min_days": min(r["days"] for r in results),
        "max_days": max(r["days"] for r in results),
        "statuses": sorted({r["status"] for r in results}, key=str),
    }


if __name__ == "__main__":
    summary = asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
    print(json.dumps(summary))
