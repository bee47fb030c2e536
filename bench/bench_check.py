#!/usr/bin/env python3
"""Times `make check`'s questions asked at the same time (commands/check.py) against the
same questions asked one after another, each service a local stand-in that answers
after a latency (a service busy starting, a remote engine).

    python3 bench/bench_check.py [--latency-ms 1000]

Four services (Kafka Connect, the Iceberg REST catalog, Pinot's controller and broker),
their outputs the program's own (under the tests' mocks). tests/test_check.py holds that
the questions are in flight at once (told by the servers, without a clock); this shows
what that is worth.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import fakeservices as fake  # noqa: E402
from harness import run_program  # noqa: E402
from commands import check  # noqa: E402

SERVICES = {  # service -> (its stand-in, the output of its URL)
    "connect": (lambda outputs: fake.Connect(outputs["kafkaConnectPlugins"]), "kafkaConnectUrl"),
    "rest": (lambda outputs: fake.IcebergRest(), "icebergRestUrl"),
    "pinot-controller": (lambda outputs: fake.PinotController(), "pinotControllerUrl"),
    "pinot-broker": (lambda outputs: fake.PinotBroker(), "pinotBrokerUrl"),
}


def outputs_served(latency: float) -> tuple[dict, list]:
    """The program's outputs with the four services pointed at stand-ins answering after `latency` s."""
    outputs = copy.deepcopy(run_program({}).outputs)
    outputs["services"] = {n: s for n, s in outputs["services"].items() if n in SERVICES}
    servers = []
    for name, (make, key) in SERVICES.items():
        server = make(outputs)
        server.delay = latency
        servers.append(server)
        outputs["services"][name]["addresses"] = [server.address]
        outputs[key] = f"http://{server.address}"
    return outputs, servers


def timed(ask) -> tuple[float, list]:
    started = time.monotonic()
    rows = ask()
    return time.monotonic() - started, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=1000)
    args = parser.parse_args()
    outputs, servers = outputs_served(args.latency_ms / 1000)
    try:
        one_by_one, rows_one = timed(lambda: [row for name in SERVICES for row in check.ask_all(
            {**outputs, "services": {name: outputs["services"][name]}}, "bench")])
        together, rows = timed(lambda: check.ask_all(outputs, "bench"))
    finally:
        for server in servers:
            server.close()
    for row in rows + rows_one:
        if row.result != check.PASS:
            print(f"{row.service}: {row.result} ({row.cause})", file=sys.stderr)
            return 1
    print(f"{len(SERVICES)} services answering after {args.latency_ms} ms each")
    print(f"one after another: {one_by_one:.2f} s")
    print(f"at the same time (make check): {together:.2f} s ({one_by_one / together:.1f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
