"""structlog configuration: readable on a terminal, JSON lines otherwise; stdlib logs too."""

from __future__ import annotations

import logging
import sys

import structlog

from web.log_limit import SUPPRESSED_KEY, RepeatFilter

_SECRET_KEYS = frozenset({"password", "secret", "token", "api_key", "authorization", "secrets"})


def _drop_secrets(_logger: object, _name: str, event: dict) -> dict:
    """Last line of defence: a key that names a secret is never written to the log."""
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "[redacted]"
    return event


def configure_logging(
    log_format: str,
    level: int = logging.INFO,
    *,
    repeat_burst: int = 5,
    repeat_interval_s: float = 60.0,
) -> None:
    """Log to stderr; one event repeated in a tight loop is written ``repeat_burst`` times per
    ``repeat_interval_s`` at most, the next one after carrying the count dropped."""
    renderer: structlog.typing.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(allow=[SUPPRESSED_KEY])],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RepeatFilter(repeat_burst, repeat_interval_s))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
