"""Typed application keys through which handlers reach the system."""

from __future__ import annotations

from aiohttp import web

from actors.system import System

SYSTEM = web.AppKey("system", System)
