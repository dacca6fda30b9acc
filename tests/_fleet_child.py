"""A child process for ``test_fleet_processes.py``: ``python _fleet_child.py JSON``.

One process of a fleet: its own client, its own SQLite outbox, and (when given a Redis URL)
the fleet's gate. It prints ``ready``, waits for a line on stdin (so all start together),
tracks its events, flushes, and prints a JSON report as its last line.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from intercom_events import DataEventsClient, RedisRateGate, SQLiteOutbox


def main() -> None:
    args = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    redis, key = args["redis"], args["key"]
    gate = RedisRateGate(redis, key=key, slow=args["slow"]) if redis else None
    outbox = SQLiteOutbox(args["outbox"])
    client = DataEventsClient(
        token=args["token"], base_url=args["url"], rate_gate=gate, outbox=outbox
    )
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    for user in args["users"]:
        client.track(event_name="fleet", user_id=user, created_at=args["created_at"])
    client.flush(timeout=120)
    seconds = time.monotonic() - started
    client.close()
    stats = client.tracking
    report = {"delivered": stats.delivered, "retried": stats.retried, "seconds": seconds}
    if gate is not None:
        gate_stats = gate.stats()
        report |= {"granted": gate_stats.granted, "fallbacks": gate_stats.fallbacks}
        gate.close()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
