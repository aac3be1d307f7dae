"""The aiohttp application factory: middleware, limits and every route module, wired explicitly."""

from __future__ import annotations

from aiohttp import web

from actors.system import System
from web import keys
from web.access import access_middleware
from web.auth_limits import FailureLimiter
from web.feed_session import FeedOptions
from web.http import ARCHIVE_BODY_LIMIT
from web.middleware import envelope_middleware
from web.routes import (
    config,
    feed,
    health,
    openapi,
    operations,
    plugin_health,
    plugins,
    reconcile,
)
from web.routes import dashboard as dashboard_page


def create_app(
    system: System,
    feed_options: FeedOptions | None = None,
    *,
    limiter: FailureLimiter | None = None,
) -> web.Application:
    """``limiter`` counts wrong tokens per client address (web/access.py); its defaults suit a
    device."""
    # Access comes first: nothing, not even an error page, is answered before it.
    # The archive upload is the largest body any route takes; every other route
    # enforces the 1 MiB JSON limit itself while reading (web.http.read_body).
    app = web.Application(
        middlewares=[
            access_middleware(system.access, FailureLimiter() if limiter is None else limiter),
            envelope_middleware,
        ],
        client_max_size=ARCHIVE_BODY_LIMIT + 64 * 1024,
    )
    app[keys.SYSTEM] = system
    health.setup(app)
    config.setup(app)
    plugins.setup(app)
    plugin_health.setup(app)
    operations.setup(app)
    reconcile.setup(app)
    feed.setup(app, feed_options)
    openapi.setup(app)
    dashboard_page.setup(app)
    return app
