"""A queue-group worker process for the kill test: ``python -m tests.nats_worker URL PREFIX DB [options]``.

It consumes ``content.>`` in batches as a member of a group and records each message in SQLite: every
attempt in ``attempts``, the effect in ``effects`` under a UNIQUE key (``INSERT OR IGNORE``), so a
redelivered message takes effect once. It prints ``ready`` once subscribed and stops cleanly on SIGTERM.
"""

import argparse
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Sequence

from trustdesk.bus.jetstream import JetStreamBus
from trustdesk.bus.protocol import Delivery
from trustdesk.bus.streams import MIB, STREAMS, capped

SCHEMA = """
create table if not exists effects (key text primary key, pid integer not null);
create table if not exists attempts (key text not null, attempt integer not null, pid integer not null);
"""


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("pragma journal_mode=wal")
    db.executescript(SCHEMA)
    return db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("prefix")
    parser.add_argument("db")
    parser.add_argument("--group", default="kill")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per message")
    parser.add_argument("--ack-wait", type=float, default=30.0)
    parser.add_argument("--max-in-flight", type=int, default=25)
    args = parser.parse_args()

    db = connect(args.db)
    pid = os.getpid()

    def handle(batch: Sequence[Delivery]) -> None:
        """Each message is its own transaction; the batch is acknowledged after the last one."""
        for d in batch:
            key = d.payload["key"]
            with db:
                db.execute("begin")
                db.execute("insert into attempts values (?, ?, ?)", (key, d.attempt, pid))
                db.execute("insert or ignore into effects values (?, ?)", (key, pid))
            if args.delay:
                time.sleep(args.delay)

    bus = JetStreamBus(
        args.url,
        prefix=args.prefix,
        ack_wait=args.ack_wait,
        max_in_flight=args.max_in_flight,
        backoff=(0.1,),
        fetch_wait=0.2,
        streams=capped(STREAMS, 8 * MIB),
    )
    try:
        bus.subscribe_batch("content.>", args.group, handle)
        print("ready", flush=True)
        bus.run(signals=[signal.SIGTERM, signal.SIGINT])
    finally:
        bus.close()
        db.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
