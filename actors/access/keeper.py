"""The token keeper: the only writer of ``<data-dir>/auth/``; it reads, creates and follows the
API token file and keeps ``AccessToken`` (what web/ checks requests against) current.

At start: a usable file is required from then on; no file is created (mode 0600) when the
file was named (``--token-file`` or ``auth.token_file``) or the bind is exposed, else the API
stays open. Then the file's stamp is compared every ``interval_s`` (and on ``ReloadToken``,
which run.py sends on SIGHUP): a rotated token replaces the old one at once. A file that
vanishes or turns unusable later never opens the API: the last good token stays in force.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import structlog

from actors.config_store.messages import GetTokenFileSetting
from actors.errors import PlugvisorError
from actors.fsio import Syncer
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.secret_values import SecretValues
from actors.timeutil import now_iso
from supervision import Actor, ActorRef, SupervisionError, handles

from .holder import AccessToken, Mode
from .token import (
    Location,
    Stamp,
    TokenFileError,
    exposed,
    generate_token,
    locate,
    loose_mode,
    read_token,
    stamp_of,
    write_token,
)

log = structlog.get_logger(__name__, actor="access")


@dataclass(frozen=True, slots=True)
class ReloadToken:
    """Find the token file again (its name may have changed in the config) and read it."""


@dataclass(frozen=True, slots=True)
class KeeperSettings:
    host: str  # the address served: an exposed one needs a token even when none is named
    token_file: str | None = None  # --token-file; else the config's auth.token_file
    interval_s: float = 2.0  # how often the file's stamp is compared


class TokenKeeper(Actor):
    def __init__(
        self,
        folder: Path,
        data_root: Path,
        holder: AccessToken,
        secrets: SecretValues,
        config_store: ActorRef,
        *,
        settings: KeeperSettings,
        ask_timeout_s: float,
        syncer: Syncer | None = None,
    ) -> None:
        super().__init__()
        self._folder = folder
        self._data_root = data_root
        self._holder = holder
        self._secrets = secrets
        self._config_store = config_store
        self._settings = settings
        self._ask_timeout_s = ask_timeout_s
        self._syncer = syncer or Syncer()
        self._location: Location | None = None
        self._stamp: Stamp | None = None
        self._token: str | None = None  # the last good one, kept while the file is unusable
        self._problem: tuple[str, str] | None = None  # (detail, since)

    async def started(self) -> None:
        await self._reload()
        self.spawn(self._watch(), name="token-watch")

    @handles(ReloadToken)
    async def reload(self, msg: ReloadToken) -> str:
        """Answers the mode now in force (``open``, ``token`` or ``locked``)."""
        await self._reload()
        return self._holder.mode.value

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        if self._problem is None:
            return []
        detail, since = self._problem
        locked = self._holder.mode is Mode.LOCKED
        return [
            HealthReason(
                code="api_token_unusable",
                message="The API token file cannot be used"
                + ("; the API refuses every request" if locked else "; the last token stays"),
                since=since,
                detail=detail,
                remediation="Write a new token with `python run.py rotate-token`",
                severity="unhealthy" if locked else "degraded",
            )
        ]

    async def _reload(self) -> None:
        known, named = await self._named()
        if known or self._location is None:
            self._location = locate(self._folder, self._data_root, named)
        await asyncio.to_thread(self._read, self._location)

    async def _named(self) -> tuple[bool, str | None]:
        """``(known, name)``: the named token file, if any; not known when the config store
        did not answer (the location found before then stays)."""
        if self._settings.token_file:
            return True, self._settings.token_file
        try:
            named = await self._config_store.ask(GetTokenFileSetting(), timeout=self._ask_timeout_s)
        except (PlugvisorError, SupervisionError, TimeoutError) as exc:
            log.warning("token_file_setting_unread", error=str(exc))
            return False, None
        return True, named

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._settings.interval_s)
            location = self._location
            if location is None:
                continue
            stamp = await asyncio.to_thread(stamp_of, location.path)
            if stamp is not None and stamp != self._stamp:
                await asyncio.to_thread(self._read, location)

    # -- blocking: run in a thread --------------------------------------------------------

    def _read(self, location: Location) -> None:
        try:
            token, stamp = read_token(location.path)
        except FileNotFoundError:
            self._missing(location)
        except TokenFileError as exc:
            self._unusable(str(exc))
        else:
            self._use(token, stamp, location)

    def _use(self, token: str, stamp: Stamp, location: Location) -> None:
        changed = self._token is not None and token != self._token
        self._token, self._stamp, self._problem = token, stamp, None
        self._secrets.add(token)
        self._holder.require(token)
        if changed:
            log.info("api_token_rotated", token_file=str(location.path))
        if loose_mode(location.path):
            log.warning("api_token_file_readable_by_others", token_file=str(location.path))

    def _missing(self, location: Location) -> None:
        if self._token is not None:
            # Deleting the file must not open the API: the token stays until one replaces it.
            self._stamp = None
            return
        if not (location.named or exposed(self._settings.host)):
            self._holder.open()
            self._problem = None
            return
        token = generate_token()
        try:
            write_token(location.path, token, self._syncer)
        except OSError as exc:
            self._unusable(f"the token file cannot be created ({exc.strerror})")
            return
        self._holder.created = location.path
        log.info("api_token_created", token_file=str(location.path))
        self._use(token, stamp_of(location.path) or Stamp(0, 0, 0), location)

    def _unusable(self, why: str) -> None:
        if self._problem is None or self._problem[0] != why:
            self._problem = (why, now_iso())
            log.error("api_token_unusable", reason=why)
        if self._token is None:
            self._holder.lock(why)
