"""The crash test's victim: saves in a loop until SIGKILLed, printing each acknowledged counter.

A "zygote" imports everything once, then forks a fresh child per ``run`` line on stdin, so
hundreds of kills each hit a new process without paying for interpreter start-up.
"""

# Output lines: ``pid <n>`` (zygote, after a fork), ``ready <c>``, ``sent <a> <b>`` (counters
# a..b asked, not yet answered), ``ack <c>`` (durable), ``exit <pid> <status>`` (child gone).

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
from pathlib import Path

import structlog

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from actors.config_store import GetPluginConfig, SavePluginConfig, make_config_store  # noqa: E402
from actors.events import EventBus  # noqa: E402
from actors.paths import DataPaths  # noqa: E402
from supervision import ChildSpec, Supervisor  # noqa: E402

PLUGIN = "crashy"
SCHEMA = {
    "type": "object",
    "properties": {
        "counter": {"type": "integer"},
        "note": {"type": "string"},
        "token": {"type": "string", "x-secret": True},
    },
}


def token_for(counter: int) -> str:
    """Every third save leaves the secret alone, so secrets-unchanged commits are covered too."""
    return f"secret-{counter - 1 if counter % 3 == 0 else counter}"


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())  # one write per line: atomic on a pipe, never buffered


async def save_forever(data_dir: Path, seed: int) -> None:
    rng = random.Random(seed)
    paths = DataPaths(data_dir)
    tree = Supervisor(
        "crash", [ChildSpec("store", make_config_store(paths, EventBus()))], ping_interval=None
    )
    await tree.start()
    ref = tree.ref("store")
    counter = (await ref.ask(GetPluginConfig(PLUGIN))).data.get("counter", 0)
    say(f"ready {counter}")
    while True:
        batch = range(counter + 1, counter + 1 + rng.randint(1, 4))
        say(f"sent {batch[0]} {batch[-1]}")
        saves = []
        for n in batch:
            config = {"counter": n, "note": f"n{n}"}
            if n % 3:
                config["token"] = token_for(n)
            saves.append(ref.ask(SavePluginConfig(PLUGIN, config), timeout=30))
        for n, _ in zip(batch, await asyncio.gather(*saves), strict=True):
            say(f"ack {n}")
        counter = batch[-1]


def zygote(data_dir: Path) -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    for runs, line in enumerate(sys.stdin, start=1):
        if line.strip() != "run":
            break
        pid = os.fork()
        if pid == 0:
            try:
                asyncio.run(save_forever(data_dir, seed=runs))
            finally:
                os._exit(1)
        say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"exit {pid} {status}")


if __name__ == "__main__":
    zygote(Path(sys.argv[1]))
