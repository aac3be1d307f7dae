"""SIGKILL a saving process at random moments, hundreds of times: nothing acknowledged is lost,
nothing half-written is loaded, config and secrets always belong to the same generation."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from actors.config_store.actor import open_files
from actors.config_store.schemas import SystemSchemas
from actors.paths import DataPaths

from .crash_child import PLUGIN, SCHEMA, token_for
from .helpers import install_plugin

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 200


class Lines:
    """Lines from a pipe, each read bounded in time."""

    def __init__(self, stream: object) -> None:
        self._fd = stream.fileno()  # type: ignore[attr-defined]
        self._buffer = b""

    def next(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("the crash child went silent")
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise EOFError("the crash child's zygote exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


def torn(paths: DataPaths) -> bool:
    """True when the kill fell between the secrets rename and the config rename."""
    try:
        marker = orjson.loads((paths.config_dir / "config.json").read_bytes())["_plugvisor"]
        secrets = orjson.loads((paths.config_dir / "config_secrets.json").read_bytes())
    except FileNotFoundError:
        return False
    return marker["secrets_generation"] != secrets["_plugvisor"]["generation"]


def check_on_disk(paths: DataPaths, system: SystemSchemas, acked: int, in_flight: set[int]) -> int:
    """Load as the next start would, and check the pair; returns the counter found."""
    loaded = open_files(paths, system).load()
    assert loaded.reasons == []
    # "defaults" only when killed before the very first start had written them
    assert loaded.source == "live" or (loaded.source, acked) == ("defaults", 0), loaded.source
    section = loaded.snapshot.config.get(PLUGIN)
    if section is None:  # killed before its first save landed
        assert acked == 0 and PLUGIN not in loaded.snapshot.secrets
        return 0
    counter = section["counter"]
    assert counter == acked or counter in in_flight, (counter, acked, sorted(in_flight))
    assert section["note"] == f"n{counter}"
    assert loaded.snapshot.secrets[PLUGIN] == {"token": token_for(counter)}
    marker = orjson.loads((paths.config_dir / "config.json").read_bytes())["_plugvisor"]
    secrets = orjson.loads((paths.config_dir / "config_secrets.json").read_bytes())
    assert marker["secrets_generation"] == secrets["_plugvisor"]["generation"]
    return counter


def test_sigkill_at_random_moments_never_loses_or_mixes_a_save(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    paths.ensure()
    install_plugin(paths, PLUGIN, SCHEMA)
    system = SystemSchemas.load()
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    stderr = (tmp_path / "child.stderr").open("wb")
    zygote = subprocess.Popen(
        [sys.executable, str(CHILD), str(paths.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    lines = Lines(zygote.stdout)
    acked, counter, acks_total, early_kills, torn_pairs = 0, 0, 0, 0, 0
    started = time.monotonic()
    try:
        for kill in range(KILLS):
            zygote.stdin.write(b"run\n")
            zygote.stdin.flush()
            pid, ready, sent = None, None, set()
            early = rng.random() < 0.1  # sometimes kill during start-up (load, repairs)
            while pid is None or (ready is None and not early):
                word, *rest = lines.next().split()
                if word == "pid":
                    pid = int(rest[0])
                elif word == "ready":
                    ready = int(rest[0])
            if not early:
                time.sleep(rng.uniform(0, 0.03))
            os.kill(pid, signal.SIGKILL)
            early_kills += early
            while True:
                word, *rest = lines.next().split()
                if word == "ready":
                    ready = int(rest[0])
                elif word == "sent":
                    sent = set(range(int(rest[0]), int(rest[1]) + 1))
                elif word == "ack":
                    acked = int(rest[0])
                    sent.discard(acked)
                    acks_total += 1
                elif word == "exit":
                    assert int(rest[0]) == pid and int(rest[1]) == signal.SIGKILL, rest
                    break
            if ready is not None:  # what the child loaded is what the last check found
                assert ready == counter, (kill, seed, ready, counter)
            torn_pairs += torn(paths)
            counter = check_on_disk(paths, system, acked, sent)
            acked = counter  # an in-flight save that landed is the new floor
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=20)
        zygote.stdout.close()
        stderr.close()
    elapsed = time.monotonic() - started
    print(
        f"crash test: {KILLS} kills ({early_kills} at start-up, {torn_pairs} between the two"
        f" renames), {acks_total} acks, seed {seed}, {elapsed:.1f} s"
    )
    assert acks_total > KILLS  # the kills really landed in the middle of saving
    assert (tmp_path / "child.stderr").read_bytes() == b""
