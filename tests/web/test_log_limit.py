"""Repeated log lines are cut to a few per interval with a count, and asyncio's own errors reach the
log through the loop's exception handler: structured, rate-limited, tracebacks only when unknown."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
from collections import Counter
from typing import Any

import orjson

from tests.conftest import REPO_ROOT
from web.log_limit import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stdlib_logger(name: str, limiter: RepeatFilter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(limiter)
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    return logger, out


def plain(message: str) -> logging.LogRecord:
    return logging.LogRecord("x", logging.ERROR, __file__, 1, message, (), None)


def test_a_repeated_record_passes_burst_times_then_reports_what_it_dropped() -> None:
    clock = Clock()
    limiter = RepeatFilter(burst=3, interval_s=10.0, clock=clock)
    passed = [limiter.filter(plain("accept failed")) for _ in range(100)]
    clock.now += 9.9
    still_dropped = limiter.filter(plain("accept failed"))
    clock.now += 0.1
    after = plain("accept failed")
    assert passed == [True] * 3 + [False] * 97 and not still_dropped
    assert limiter.filter(after) and after.suppressed_repeats == 98
    assert limiter.filter(plain("accept failed"))  # a new window: its own burst


def test_different_events_are_not_collapsed_but_identical_ones_are() -> None:
    limiter = RepeatFilter(burst=1, interval_s=60.0, clock=Clock())

    def event(**fields: Any) -> logging.LogRecord:
        record = logging.LogRecord("actors.queue", logging.INFO, __file__, 1, None, (), None)
        record.msg = {"event": "operation_finished", "timestamp": object(), **fields}
        return record

    firsts = [limiter.filter(event(operation_id=f"op-{n}")) for n in range(50)]
    repeats = [limiter.filter(event(operation_id="op-1")) for _ in range(5)]
    assert firsts == [True] * 50 and repeats == [False] * 5


def test_the_same_failure_is_one_key_whatever_its_exception_instance() -> None:
    limiter = RepeatFilter(burst=2, interval_s=60.0, clock=Clock())
    logger, out = stdlib_logger("test.same_failure", limiter)
    for _ in range(20):
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            logger.exception("accept failed")
    try:
        raise OSError(23, "Too many open files in system")
    except OSError:
        logger.exception("accept failed")
    assert out.getvalue().count("accept failed") == 3


def test_memory_stays_bounded_with_many_distinct_events() -> None:
    clock = Clock()
    limiter = RepeatFilter(burst=1, interval_s=60.0, max_keys=100, clock=clock)
    for n in range(5000):  # bounded: 5000 records
        clock.now += 0.001
        limiter.filter(plain(f"event {n}"))
    assert len(limiter._windows) <= 101


LOOP_SCRIPT = textwrap.dedent(
    """
    import asyncio, errno
    import structlog
    from web.logging_setup import configure_logging
    from web.loop_errors import handle_loop_error

    configure_logging("json", repeat_interval_s=3.0)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(handle_loop_error)
        emfile = OSError(errno.EMFILE, "Too many open files")
        for _ in range(10_000):  # asyncio's accept() error, as Python 3.11 repeats it
            loop.call_exception_handler(
                {"message": "socket.accept() out of system resource", "exception": emfile}
            )
        loop.call_exception_handler(
            {"message": "Fatal read error on socket transport", "exception": ConnectionResetError()}
        )
        loop.call_exception_handler({"message": "Task was destroyed but it is pending!"})
        try:
            raise RuntimeError("a real bug")
        except RuntimeError as exc:
            loop.call_exception_handler({"message": "Exception in callback", "exception": exc})
        for _ in range(1000):
            structlog.get_logger("app").warning("disk_full", path="history")
        await asyncio.sleep(3.1)  # past the repeat interval (long: a loaded machine is slow)
        loop.call_exception_handler(
            {"message": "socket.accept() out of system resource", "exception": emfile}
        )
        structlog.get_logger("app").warning("disk_full", path="history")

    asyncio.run(main())
    """
)


def test_asyncio_errors_are_logged_structured_and_rate_limited() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOOP_SCRIPT], cwd=REPO_ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [orjson.loads(line) for line in done.stderr.splitlines()]
    counts = Counter(line["event"] for line in lines)
    out_of_fds = [line for line in lines if line["event"] == "loop_out_of_resources"]
    unknown = [line for line in lines if line["event"] == "loop_error"]

    disk_full = [line for line in lines if line["event"] == "disk_full"]

    assert counts == {
        "loop_out_of_resources": 6,
        "loop_connection_lost": 1,
        "loop_error": 2,
        "disk_full": 6,
    }
    assert [line.get("suppressed_repeats") for line in out_of_fds] == [None] * 5 + [9995]
    assert [line.get("suppressed_repeats") for line in disk_full] == [None] * 5 + [995]
    assert out_of_fds[0] == {
        "event": "loop_out_of_resources",
        "message": "socket.accept() out of system resource",
        "errno": "EMFILE",
        "error": "Too many open files",
        "level": "warning",
        "logger": "plugvisor.asyncio",
        "timestamp": out_of_fds[0]["timestamp"],
    }
    assert not [line for line in lines if "exception" in line and line["event"] != "loop_error"]
    assert [("exception" in line, line["message"]) for line in unknown] == [
        (False, "Task was destroyed but it is pending!"),
        (True, "Exception in callback"),
    ]
    assert "RuntimeError: a real bug" in unknown[1]["exception"]
