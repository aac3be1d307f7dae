"""Typed application keys through which handlers reach the system."""

from __future__ import annotations

from aiohttp import web

from actors.system import System

SYSTEM = web.AppKey("system", System)
# Who the request acts as, for the history: "token" or "local" (set by web/access.py).
USER = web.RequestKey("user", str)
