#!/usr/bin/env python3
"""Times upstream's way of downloading (one after another, everything again on every
run) against scripts/fetch.py (parallel, verified, cached), cold and warm, against a
local server with added latency and limited bandwidth per connection.

    python3 bench/bench_downloads.py [--artifacts 8] [--size-kib 1024] [--latency-ms 200] [--kib-per-s 4096] [--check]

--check exits non-zero unless cold is at least 3x faster than one-after-another and
warm takes under 0.5 s with no request to the server.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fileserver import FileServer  # noqa: E402
from scripts import fetch  # noqa: E402


def upstream_way(urls: list[str], dest: Path) -> None:
    """setup-env.sh: delete, then curl each file in turn, unverified."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for url in urls:
        with urllib.request.urlopen(url) as response:
            (dest / url.rsplit("/", 1)[-1]).write_bytes(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=int, default=8)
    parser.add_argument("--size-kib", type=int, default=1024)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--kib-per-s", type=int, default=4096)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    with FileServer() as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        artifacts = []
        for n in range(args.artifacts):
            body = os.urandom(args.size_kib * 1024)
            path = f"/repo.example.org/maven2/bench/artifact-{n}.jar"
            server.files[path] = body
            server.files[path + ".sha1"] = hashlib.sha1(body).hexdigest().encode()
            # half are checked by the repository's .sha1 (one more request each), half on first use
            artifacts.append(fetch.Artifact(name=f"artifact-{n}", url=f"https://repo.example.org/maven2/bench/artifact-{n}.jar",
                                            dest=f"artifact-{n}.jar", sha1_sidecar=n % 2 == 0))
        server.delay = args.latency_ms / 1000
        server.rate = args.kib_per_s * 1024
        quiet = lambda line: None  # noqa: E731

        started = time.perf_counter()
        upstream_way([fetch.mirrored(a.url, server.url) for a in artifacts], work / "upstream")
        sequential = time.perf_counter() - started

        fetcher = fetch.Fetcher(work / "cache", server.url, log=quiet)
        started = time.perf_counter()
        fetcher.group("bench", artifacts, work / "cold")
        cold = time.perf_counter() - started

        before = server.total
        started = time.perf_counter()
        fetch.Fetcher(work / "cache", server.url, log=quiet).group("bench", artifacts, work / "warm")
        warm = time.perf_counter() - started
        warm_requests = server.total - before

        size = args.artifacts * args.size_kib / 1024
        print(f"{args.artifacts} artifacts of {args.size_kib} KiB ({size:.1f} MiB), "
              f"{args.latency_ms} ms latency, {args.kib_per_s} KiB/s per connection")
        print(f"  upstream, one after another (every run): {sequential:6.2f} s")
        print(f"  fetch.py cold (empty cache, verified):   {cold:6.2f} s   {sequential / cold:5.1f}x faster")
        print(f"  fetch.py warm (cache, new folder):       {warm:6.3f} s   {sequential / warm:5.0f}x faster, "
              f"{warm_requests} requests")
        ok = sequential / cold >= 3 and warm < 0.5 and warm_requests == 0
        print("  targets (cold >= 3x, warm < 0.5 s with no request):", "met" if ok else "NOT met")
        return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
