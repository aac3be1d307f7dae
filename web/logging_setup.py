"""structlog configuration: readable on a terminal, JSON lines otherwise; stdlib logs too.

Every line, structlog's and the stdlib's (aiohttp, asyncio), passes ``web.redaction.Redactor``
last before it is rendered, so no secret the process knows reaches stderr.
"""

from __future__ import annotations

import logging
import sys

import structlog

from actors.secret_values import SecretValues
from web.log_limit import SUPPRESSED_KEY, RepeatFilter
from web.redaction import Redactor


def configure_logging(
    log_format: str,
    level: int = logging.INFO,
    *,
    repeat_burst: int = 5,
    repeat_interval_s: float = 60.0,
    secrets: SecretValues | None = None,
) -> None:
    """Log to stderr; one event repeated in a tight loop is written ``repeat_burst`` times per
    ``repeat_interval_s`` at most, the next one after carrying the count dropped.

    ``secrets`` is the process's set of secret values (``build_system`` fills it): each is
    masked wherever it appears in a line, as are URL credentials and Authorization headers.
    """
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
            Redactor(secrets),  # after the traceback became text, so that is masked too
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
