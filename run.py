"""Boot Plugvisor: command line, supervision tree, HTTP, signals and systemd notification."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from actors.access import ReloadToken, rotate_token
from actors.health.checks import HealthSettings
from actors.installer import PipOptions
from actors.secret_values import SecretValues
from actors.system import Settings, System, build_system
from supervision.faults import FaultInjector
from supervision.systemd import Notifier
from web.app import create_app
from web.connection_limits import derive_limits, exceeds_budget, open_file_limit
from web.listener import ListenSite
from web.logging_setup import configure_logging
from web.loop_errors import handle_loop_error
from web.server import PlugvisorRunner

log = structlog.get_logger("plugvisor")

EXIT_OK = 0
EXIT_TREE_FAILED = 1
EXIT_START_FAILED = 2


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PLUGVISOR_{name.upper().replace('-', '_')}", default)


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Plugvisor: the plugin supervisor. Every option can also be set as "
        "PLUGVISOR_<NAME> in the environment (e.g. PLUGVISOR_PORT=8080).",
    )
    parser.add_argument("--host", default=_env("host", defaults.host))
    parser.add_argument("--port", type=int, default=_env("port", str(defaults.port)))
    parser.add_argument("--data-dir", default=_env("data_dir", str(defaults.data_dir)))
    parser.add_argument(
        "--registry-url",
        default=_env("registry_url", defaults.registry_url),
        help="plugin registry (plugins.json) as an http(s) URL or a local path",
    )
    default_format = "console" if sys.stderr.isatty() else "json"
    parser.add_argument(
        "--log-format", choices=("console", "json"), default=_env("log_format", default_format)
    )
    _add_token_file(parser)
    tuning = parser.add_argument_group("tuning (defaults suit a Raspberry Pi)")
    tuning.add_argument(
        "--queue-concurrency",
        type=int,
        default=_env("queue_concurrency", str(defaults.queue_concurrency)),
        help="operations on different plugins that may run at once",
    )
    tuning.add_argument(
        "--operation-deadline",
        type=float,
        default=_env("operation_deadline", str(defaults.operation_deadline_s)),
        help="seconds after which a running operation is stopped and rolled back",
    )
    tuning.add_argument(
        "--operation-retention",
        type=int,
        default=_env("operation_retention", str(defaults.operation_retention)),
        help="finished operations kept answerable by id",
    )
    tuning.add_argument(
        "--reconcile-interval",
        type=float,
        default=_env("reconcile_interval", str(defaults.reconcile_interval_s)),
        help="seconds between periodic reconciliations (0: only at start and on request)",
    )
    tuning.add_argument(
        "--health-check-interval",
        type=float,
        default=_env("health_check_interval", str(defaults.health.check_interval_s)),
        help="seconds between the health actor's checks (event-loop lag, restarts, disk space)",
    )
    tuning.add_argument(
        "--backups-keep",
        type=int,
        default=_env("backups_keep", str(defaults.backups_keep)),
        help="configuration backups kept",
    )
    tuning.add_argument(
        "--pip-index-url", default=_env("pip_index_url", "") or None, help="index for plugin deps"
    )
    tuning.add_argument(
        "--pip-find-links",
        default=_env("pip_find_links", "") or None,
        help="a local folder of wheels for plugin dependencies (offline devices)",
    )
    tuning.add_argument(
        "--pip-no-index",
        action="store_true",
        default=_env("pip_no_index", "") in ("1", "true", "yes"),
        help="install plugin dependencies from --pip-find-links only",
    )
    tuning.add_argument(
        "--header-timeout",
        type=float,
        default=_env("header_timeout", str(defaults.header_timeout_s)),
        help="seconds a client has to send a request's line and headers (then 408)",
    )
    tuning.add_argument(
        "--body-timeout",
        type=float,
        default=_env("body_timeout", str(defaults.body_timeout_s)),
        help="seconds a request body may stall before the request fails with 408",
    )
    tuning.add_argument(
        "--keepalive-timeout",
        type=float,
        default=_env("keepalive_timeout", str(defaults.keepalive_timeout_s)),
        help="seconds an idle kept-alive connection stays open",
    )
    tuning.add_argument(
        "--max-connections",
        type=int,
        default=_env("max_connections", str(defaults.max_connections)),
        help="connections served at once; more are answered 503 (0: derived from ulimit -n)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be between 1 and 65535")
    if args.queue_concurrency < 1:
        parser.error("--queue-concurrency must be at least 1")
    if args.operation_deadline <= 0:
        parser.error("--operation-deadline must be positive")
    if args.operation_retention < 1 or args.backups_keep < 1:
        parser.error("--operation-retention and --backups-keep must be at least 1")
    if min(args.header_timeout, args.body_timeout, args.keepalive_timeout) <= 0:
        parser.error("--header-timeout, --body-timeout and --keepalive-timeout must be positive")
    if args.health_check_interval <= 0:
        parser.error("--health-check-interval must be positive")
    if args.reconcile_interval < 0:
        parser.error("--reconcile-interval must be 0 (disabled) or more")
    if args.max_connections < 0:
        parser.error("--max-connections must be 0 (derived) or more")
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir),
        registry_url=args.registry_url,
        log_format=args.log_format,
        queue_concurrency=args.queue_concurrency,
        operation_deadline_s=args.operation_deadline,
        operation_retention=args.operation_retention,
        backups_keep=args.backups_keep,
        reconcile_interval_s=args.reconcile_interval,
        health=HealthSettings(check_interval_s=args.health_check_interval),
        pip=PipOptions(
            index_url=args.pip_index_url,
            find_links=(args.pip_find_links,) if args.pip_find_links else (),
            no_index=args.pip_no_index,
        ),
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        keepalive_timeout_s=args.keepalive_timeout,
        max_connections=args.max_connections,
        token_file=args.token_file,
    )


def _add_token_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token-file",
        default=_env("token_file", "") or None,
        help="the API token file (else the config's auth.token_file, else <data-dir>/auth/token; "
        "created 0600 when named or when --host is not loopback)",
    )


def rotate_main(argv: Sequence[str]) -> int:
    """``run.py rotate-token``: a new token in the file the server reads; it follows at once."""
    parser = argparse.ArgumentParser(
        prog="run.py rotate-token",
        description="Write a new random API token (mode 0600, atomically) where the server "
        "reads it. A running server uses it within seconds (at once on SIGHUP); the old one "
        "stops working then.",
    )
    parser.add_argument("--data-dir", default=_env("data_dir", str(Settings().data_dir)))
    _add_token_file(parser)
    args = parser.parse_args(argv)
    try:
        path = rotate_token(Path(args.data_dir), args.token_file)
    except (OSError, ValueError) as exc:
        print(f"rotate-token: cannot write the token file: {exc}", file=sys.stderr)
        return EXIT_START_FAILED
    print(f"New API token written to {path} (mode 0600); read it from there.", flush=True)
    return EXIT_OK


async def serve(settings: Settings, secrets: SecretValues | None = None) -> int:
    asyncio.get_running_loop().set_exception_handler(handle_loop_error)
    notifier = Notifier.from_env()
    notifier.status("Starting")
    system: System = build_system(settings, secrets)
    faults = FaultInjector.from_env(system.tree)  # soaks and crash tests only: off by default
    try:
        await system.tree.start()
    except Exception:
        log.exception("start_failed")
        notifier.status("Start failed")
        return EXIT_START_FAILED
    limits = derive_limits(settings)
    if exceeds_budget(limits):
        log.warning(
            "max_connections_above_file_limit",
            max_connections=limits.max_connections,
            open_file_limit=open_file_limit(),
        )
    runner = PlugvisorRunner(create_app(system), limits, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = ListenSite(runner, settings.host, settings.port)
        await site.start()
    except OSError as exc:
        log.error("bind_failed", host=settings.host, port=settings.port, error=exc.strerror)
        await runner.cleanup()
        await system.tree.stop()
        return EXIT_START_FAILED
    url = f"http://{settings.host}:{settings.port}/"
    print(f"Plugvisor serving on {url}", flush=True)
    if system.access.created is not None:  # said once, where it was made; never the token
        print(f"API token created in {system.access.created} (mode 0600)", flush=True)
    log.info(
        "serving",
        url=url,
        data_dir=str(system.paths.root),
        max_connections=limits.max_connections,
        access=system.access.mode.value,
    )
    notifier.ready()
    notifier.status("Running")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # SIGHUP: read the token file (and auth.token_file) again now, not at the next check.
    reloads: set[asyncio.Task[None]] = set()
    loop.add_signal_handler(signal.SIGHUP, _reload_token, system, reloads)
    if faults is not None:
        faults.install(loop)
    # No ping while the tree is failing or the health actor says unhealthy: systemd restarts us.
    tracker = system.health_tracker
    watchdog = asyncio.create_task(
        notifier.run_watchdog(lambda: system.tree.healthy and tracker.ok_to_ping)
    )
    tree_exit = asyncio.create_task(system.tree.wait_exit())
    stop_wait = asyncio.create_task(stop.wait())
    await asyncio.wait({tree_exit, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    gave_up = tree_exit.done() and tree_exit.result().failed

    if faults is not None:
        faults.uninstall(loop)
    notifier.stopping()
    notifier.status("Stopping")
    log.info("stopping", reason="supervision tree gave up" if gave_up else "signal")
    watchdog.cancel()
    stop_wait.cancel()
    try:
        async with asyncio.timeout(settings.shutdown_timeout_s):
            await runner.cleanup()
    except TimeoutError:
        log.warning("http_shutdown_timeout")
    await system.tree.stop()
    tree_exit.cancel()
    log.info("stopped", exit_code=EXIT_TREE_FAILED if gave_up else EXIT_OK)
    return EXIT_TREE_FAILED if gave_up else EXIT_OK


def _reload_token(system: System, reloads: set[asyncio.Task[None]]) -> None:
    async def reload() -> None:
        try:
            mode = await system.access_keeper.ask(
                ReloadToken(), timeout=system.settings.timeouts.read
            )
        except Exception as exc:  # a signal handler has no caller to tell
            log.warning("token_reload_failed", error=str(exc))
        else:
            log.info("token_reloaded", access=mode)

    task = asyncio.create_task(reload())
    reloads.add(task)
    task.add_done_callback(reloads.discard)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["rotate-token"]:
        return rotate_main(argv[1:])
    if argv[:1] == ["install-service"]:  # the systemd unit for a device (deploy/service.py)
        from deploy.service import main as install_service

        return install_service(argv[1:])
    settings = parse_args(argv)
    secrets = SecretValues()  # filled by the config store and the token keeper
    configure_logging(settings.log_format, secrets=secrets)
    return asyncio.run(serve(settings, secrets))


if __name__ == "__main__":
    sys.exit(main())
