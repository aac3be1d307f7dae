"""POST /api/v3/plugins/state/reconcile: run (or join) a reconciliation and answer its result."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError
from actors.reconciler import RunReconcile
from web import keys
from web.http import read_json_object, success
from web.spec import requests as spec


async def reconcile(request: web.Request) -> web.Response:
    values = spec.RECONCILE.read(await read_json_object(request, optional=True))
    dry_run, force = values["dry_run"], values["force"]
    system = request.app[keys.SYSTEM]
    timeouts = system.settings.timeouts
    run = await system.reconciler.ask(RunReconcile(dry_run, force), timeout=timeouts.read)
    result = await _outcome(run, timeouts.network)
    message = (
        f"Reconciliation complete: {result['inconsistencies_found']} inconsistencies found, "
        f"{result['inconsistencies_fixed']} fixed automatically, "
        f"{result['inconsistencies_manual']} require manual attention"
    )
    return success(result, message)


async def _outcome(run: asyncio.Future[dict[str, Any]], timeout: float) -> dict[str, Any]:
    try:
        # Shielded: a client that goes away must not cancel a run other requests share.
        return await asyncio.wait_for(asyncio.shield(run), timeout=timeout)
    except TimeoutError:
        raise PlugvisorError(
            ErrorCode.TIMEOUT,
            "Reconciliation is still running; its result will be last_reconcile in "
            "/api/v3/supervisor/health",
        ) from None
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if run.cancelled() and task is not None and not task.cancelling():
            raise PlugvisorError(  # the reconciler restarted under the run
                ErrorCode.SERVICE_UNAVAILABLE, "Reconciliation was interrupted; try again"
            ) from None
        raise


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v3/plugins/state/reconcile", reconcile)
