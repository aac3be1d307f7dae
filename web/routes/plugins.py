"""Plugin endpoints: install (registry, URL, archive), update, uninstall, toggle, listings.

Each mutating request is validated here, synchronously (an error response and no operation
for a bad id, an unknown plugin, a malformed URL), then queued: 202 with the operation id,
or with ``?wait=true`` the finished record.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import replace
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from actors.catalog.messages import (
    ListInstalledRendered,
    ListStore,
    RefreshRegistry,
    ResolveRegistryEntry,
)
from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.installed import require_installed
from actors.installer.redact import redact_url, url_fingerprint
from actors.queue.messages import Enqueue
from actors.state.messages import GetAllStatesRendered, GetState
from actors.toggle import toggle_plugin
from web import keys
from web.access import request_user
from web.http import (
    ARCHIVE_BODY_LIMIT,
    read_body,
    read_json_object,
    rendered_success,
    success,
    too_large,
)
from web.routes.operations import answer_enqueued
from web.spec import requests as spec

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
# The first bytes of a zip or a gzip file, as actors.installer.archive.archive_kind reads them.
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b")


async def _require_installed(request: web.Request, plugin_id: str) -> None:
    system = request.app[keys.SYSTEM]
    timeout = system.settings.timeouts.read
    await require_installed(system.state, system.queue, plugin_id, timeout=timeout)


async def _enqueue(request: web.Request, message: Enqueue, what: str) -> web.Response:
    wait = spec.WAIT.read(request)  # read first: a bad value must leave nothing queued
    system = request.app[keys.SYSTEM]
    message = replace(message, user=request_user(request))
    receipt = await system.queue.ask(message, timeout=system.settings.timeouts.write)
    return await answer_enqueued(request, receipt, what, wait=wait)


async def install(request: web.Request) -> web.Response:
    values = spec.INSTALL.read(await read_json_object(request))
    plugin_id, branch, version = values["plugin_id"], values["branch"], values["version"]
    system = request.app[keys.SYSTEM]
    # What the registry says now: 404 PLUGIN_NOT_FOUND, or 503 REGISTRY_UNAVAILABLE (no copy).
    await system.catalog.ask(
        ResolveRegistryEntry(plugin_id), timeout=system.settings.timeouts.network
    )
    parameters = {k: v for k, v in (("branch", branch), ("version", version)) if v is not None}
    suffix = f" (branch: {branch})" if branch else ""
    return await _enqueue(
        request,
        Enqueue("install", plugin_id, parameters),
        f"Plugin {plugin_id} installation queued{suffix}",
    )


async def install_from_url(request: web.Request) -> web.Response:
    values = spec.INSTALL_FROM_URL.read(await read_json_object(request))
    url, plugin_id = values["repo_url"], values["plugin_id"]
    plugin_path, branch = values["plugin_path"], values["branch"]
    shown = redact_url(url)
    parameters: dict[str, Any] = {"repo_url": shown}
    if shown != url:  # credentials masked: only an opaque fingerprint tells such URLs apart
        parameters["repo_url_fingerprint"] = url_fingerprint(url, request.app[URL_KEY])
    for name, value in (("plugin_id", plugin_id), ("plugin_path", plugin_path), ("branch", branch)):
        if value is not None:
            parameters[name] = value
    lane = plugin_id or f"url:{shown}"
    return await _enqueue(
        request,
        Enqueue("install", plugin_id, parameters, lane=lane, private={"repo_url": url}),
        f"Plugin {plugin_id or shown} installation queued",
    )


async def _read_archive_field(request: web.Request) -> tuple[str, bytes]:
    if not request.content_type.startswith("multipart/"):
        raise invalid_input(
            "Upload the archive as multipart/form-data in the field 'archive'", field="archive"
        )
    if request.content_length is not None and request.content_length > ARCHIVE_BODY_LIMIT:
        raise too_large(ARCHIVE_BODY_LIMIT)
    try:
        found = await _archive_part(await request.multipart())
    # aiohttp's answers to a missing boundary or a torn multipart body (ValueError), and to a
    # part whose headers do not parse (BadHttpMessage: InvalidHeader, LineTooLong, ...)
    except (ValueError, BadHttpMessage):
        raise invalid_input(
            "The upload is not a well-formed multipart/form-data body", field="archive"
        ) from None
    if found is None:
        raise invalid_input("Missing the multipart field 'archive'", field="archive")
    return found


async def _archive_part(reader: MultipartReader) -> tuple[str, bytes] | None:
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name != "archive":
            continue
        filename = part.filename or ""
        if not filename.lower().endswith(ARCHIVE_SUFFIXES):
            raise invalid_input("The archive must be a .zip or .tar.gz file", field="archive")
        chunks, size = [], 0
        while chunk := await part.read_chunk(256 * 1024):
            size += len(chunk)
            if size > ARCHIVE_BODY_LIMIT:
                raise too_large(ARCHIVE_BODY_LIMIT)
            chunks.append(chunk)
        if not size:
            raise invalid_input("The uploaded archive is empty", field="archive")
        return filename.rsplit("/", 1)[-1], b"".join(chunks)
    return None


async def install_archive(request: web.Request) -> web.Response:
    slots = request.app[UPLOAD_SLOTS]
    if slots.locked():  # each upload may hold 50 MiB in memory: a few at a time, no waiting
        raise PlugvisorError(
            ErrorCode.SERVICE_UNAVAILABLE,
            "Other archives are being uploaded right now",
            suggested_fixes=["Upload it again in a moment"],
        )
    wait = spec.WAIT.read(request)  # read first: a bad value must leave nothing queued
    async with slots:
        receipt, message = await _queue_archive(request)
    return await answer_enqueued(request, receipt, message, wait=wait)  # the bytes are let go


async def _queue_archive(request: web.Request) -> tuple[dict[str, Any], str]:
    filename, data = await _read_archive_field(request)
    if not data.startswith(ARCHIVE_MAGIC):  # refused now rather than by a failed operation
        raise invalid_input("The upload is neither a .zip nor a .tar.gz archive", field="archive")
    digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())  # up to 50 MiB
    parameters = {"filename": filename, "archive_sha256": digest, "size": len(data)}
    message = Enqueue(
        "install",
        None,
        parameters,
        lane=f"archive:{digest}",
        user=request_user(request),
        private={"archive": data},
    )
    system = request.app[keys.SYSTEM]
    receipt = await system.queue.ask(message, timeout=system.settings.timeouts.write)
    return receipt, f"Plugin archive {filename} installation queued"


async def update(request: web.Request) -> web.Response:
    plugin_id = spec.UPDATE.read(await read_json_object(request))["plugin_id"]
    await _require_installed(request, plugin_id)
    return await _enqueue(
        request, Enqueue("update", plugin_id), f"Plugin {plugin_id} update queued"
    )


async def uninstall(request: web.Request) -> web.Response:
    values = spec.UNINSTALL.read(await read_json_object(request))
    plugin_id, preserve = values["plugin_id"], values["preserve_config"]
    await _require_installed(request, plugin_id)
    return await _enqueue(
        request,
        Enqueue("uninstall", plugin_id, {"preserve_config": preserve}),
        f"Plugin {plugin_id} uninstallation queued",
    )


async def toggle(request: web.Request) -> web.Response:
    values = spec.TOGGLE.read(await read_json_object(request))
    plugin_id, enabled = values["plugin_id"], values["enabled"]
    system = request.app[keys.SYSTEM]
    result = await toggle_plugin(
        system.config_store,
        system.state,
        plugin_id,
        enabled,
        user=request_user(request),
        timeout=system.settings.timeouts.write,
    )
    verb = "enabled" if enabled else "disabled"
    return success(result, f"Plugin {plugin_id} {verb}")


async def installed(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    timeout = system.settings.timeouts.network
    return rendered_success(
        request, await system.catalog.ask(ListInstalledRendered(), timeout=timeout)
    )


async def store_list(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    filters = {param.name: param.read(request) for param in spec.STORE_FILTERS}
    listing = await system.catalog.ask(
        ListStore(**filters), timeout=system.settings.timeouts.network
    )
    return success(listing, _registry_message(listing["registry"]))


def _registry_message(registry: dict[str, Any]) -> str | None:
    if not registry["available"]:
        return "The plugin registry cannot be read and no copy of it is cached: the store is empty"
    if registry["stale"]:
        return "The plugin registry could not be read; showing the last copy"
    return None


async def store_refresh(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    await read_body(request)  # takes no parameters; any body up to the limit is ignored
    result = await system.catalog.ask(RefreshRegistry(), timeout=system.settings.timeouts.network)
    message = _registry_message(result) or (
        f"Plugin store refreshed ({result['plugin_count']} plugins)"
    )
    return success(result, message)


async def plugin_state(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    timeout = system.settings.timeouts.read
    plugin_id = spec.STATE_PLUGIN_ID.read(request)
    if plugin_id is None:
        return rendered_success(
            request, await system.state.ask(GetAllStatesRendered(), timeout=timeout)
        )
    state = await system.state.ask(GetState(plugin_id), timeout=timeout)
    if state is None:
        raise PlugvisorError(
            ErrorCode.PLUGIN_NOT_FOUND,
            f"Plugin '{plugin_id}' has no state: it is not installed",
            context={"plugin_id": plugin_id},
        )
    return success(state)


UPLOAD_SLOTS = web.AppKey("archive_upload_slots", asyncio.Semaphore)
MAX_CONCURRENT_UPLOADS = 2
# The key of install URL fingerprints: random per process, never stored or shown.
URL_KEY = web.AppKey("install_url_fingerprint_key", bytes)


def setup(app: web.Application) -> None:
    app[UPLOAD_SLOTS] = asyncio.Semaphore(MAX_CONCURRENT_UPLOADS)
    app[URL_KEY] = secrets.token_bytes(32)
    router = app.router
    router.add_post("/api/v3/plugins/install", install)
    router.add_post("/api/v3/plugins/install-from-url", install_from_url)
    router.add_post("/api/v3/plugins/install-archive", install_archive)
    router.add_post("/api/v3/plugins/update", update)
    router.add_post("/api/v3/plugins/uninstall", uninstall)
    router.add_post("/api/v3/plugins/toggle", toggle)
    router.add_get("/api/v3/plugins/installed", installed)
    router.add_get("/api/v3/plugins/store/list", store_list)
    router.add_post("/api/v3/plugins/store/refresh", store_refresh)
    router.add_get("/api/v3/plugins/state", plugin_state)
