"""Reconciliation over a real server and a real data dir damaged by hand: each inconsistency is
found by a dry run (which changes nothing), then fixed or reported; the budget and tombstones
keep repeated runs from reinstalling for ever.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from actors.config_store.messages import GetPluginFlags
from actors.queue.records import Operation
from actors.state.messages import FollowConfig
from actors.system import Settings
from tests.actors.installer.installer_helpers import plugin_files, registry_entry
from tests.polling import wait_until
from tests.web.plugin_env import PluginEnv, RunningApi, make_env

RECONCILE = "/api/v3/plugins/state/reconcile"
HEALTH = "/api/v3/supervisor/health"
HISTORY = "/api/v3/plugins/operation/history?operation_type=reconcile"


def settings_of(env: PluginEnv) -> Settings:
    return env.settings(reconcile_interval_s=0)  # at start and on request only


async def start_run(api: RunningApi) -> dict[str, Any]:
    """The result of the run at start (waited for, bounded)."""

    async def last() -> dict[str, Any] | None:
        _, health = await api.get(HEALTH)
        return health["data"]["last_reconcile"]

    return await wait_until(last, what="the reconciliation at start", timeout=30.0)


async def reconcile(api: RunningApi, body: Any = None) -> dict[str, Any]:
    status, answer = await api.post(RECONCILE, body)
    assert status == 200, answer
    result = answer["data"]
    assert result["inconsistencies_found"] == len(result["inconsistencies"])
    assert result["inconsistencies_fixed"] == len(result["fixed"])
    assert result["inconsistencies_manual"] == len(result["manual_fix_required"])
    return result


def found(result: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    return [(i["plugin_id"], i["type"], i["fix_action"]) for i in result["inconsistencies"]]


def snapshot(data_dir: Path) -> dict[str, bytes | None]:
    """Every file and folder under the data dir but history/ (each run adds one record there)."""
    return {
        str(path.relative_to(data_dir)): path.read_bytes() if path.is_file() else None
        for path in sorted(data_dir.rglob("*"))
        if path.relative_to(data_dir).parts[0] != "history"
    }


async def install(api: RunningApi, plugin_id: str) -> None:
    status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": plugin_id})
    assert status == 200, body


async def queued_operation(api: RunningApi, description: str) -> dict[str, Any]:
    match = re.search(r"queued as operation ([0-9a-f]+)", description)
    assert match, description
    return await api.wait_operation(match.group(1))


async def test_each_hand_made_damage_is_found_by_a_dry_run_that_changes_nothing(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    env.add_plugin("weather")
    settings = settings_of(env)
    data, plugins = settings.data_dir, settings.data_dir / "plugins"
    async with RunningApi(settings) as api:
        assert found(await start_run(api)) == []
        for plugin_id in ("clock", "ticker", "weather"):
            await install(api, plugin_id)
    async with RunningApi(settings) as api:  # a restart: no write of those installs is pending
        assert found(await start_run(api)) == []
        shutil.rmtree(plugins / "clock")  # deleted plugin folder
        hand = plugins / "handmade"  # hand-copied plugin
        hand.mkdir()
        for name, content in plugin_files("handmade").items():
            (hand / name).write_text(content if isinstance(content, str) else content.decode())
        (plugins / "ticker" / "manifest.json").write_text("{not json")  # broken manifest
        manifest = orjson.loads((plugins / "weather" / "manifest.json").read_bytes())
        manifest["version"] = "9.9.9"  # edited in place: the install record says 1.0.0
        (plugins / "weather" / "manifest.json").write_bytes(orjson.dumps(manifest))
        (data / "tmp" / "0123abcd").mkdir()  # debris in tmp/
        (data / "tmp" / "stray.intent.json").write_text("{}")

        before = snapshot(data)
        dry = await reconcile(api, {"dry_run": True})
        assert snapshot(data) == before
        assert found(dry) == [
            ("handmade", "plugin_missing_in_config", "auto_fix"),
            ("clock", "plugin_missing_on_disk", "auto_fix"),
            ("weather", "plugin_version_mismatch", "manual_fix_required"),
            ("ticker", "manifest_invalid", "manual_fix_required"),
            (None, "leftover_staging", "manual_fix_required"),
            (None, "leftover_staging", "manual_fix_required"),
        ]
        assert dry["fixed"] == [] and dry["dry_run"] is True
        assert [m["type"] for m in dry["manual_fix_required"]] == [
            "plugin_version_mismatch",
            "manifest_invalid",
            "leftover_staging",
            "leftover_staging",
        ]

        fixed = await reconcile(api)
        assert fixed["inconsistencies_fixed"] == 2 and fixed["inconsistencies_manual"] == 4
        reinstall = next(i for i in fixed["fixed"] if i["type"] == "plugin_missing_on_disk")
        operation = await queued_operation(api, reinstall["description"])
        assert operation["status"] == "completed", operation
        assert (plugins / "clock" / "manifest.json").is_file()
        _, config = await api.get("/api/v3/plugins/config?plugin_id=handmade")
        assert config["data"]["enabled"] is False  # a hand-copied plugin is not switched on
        _, state = await api.get("/api/v3/plugins/state?plugin_id=handmade")
        assert state["data"]["status"] == "disabled"

        _, health = await api.get(HEALTH)
        reasons = {r["code"]: r for r in health["data"]["reasons"]}
        assert "tmp/0123abcd" in reasons["reconcile_manual_fixes"]["detail"]
        last = health["data"]["last_reconcile"]
        assert last["trigger"] == "request" and last["inconsistencies_manual"] == 4

        again = await reconcile(api)  # what was fixed stays fixed; the rest is still reported
        assert [t for _, t, _ in found(again)] == [
            "plugin_version_mismatch",
            "manifest_invalid",
            "leftover_staging",
            "leftover_staging",
        ]
        _, history = await api.get(HISTORY)
        runs = [(r["details"]["trigger"], r["details"]["dry_run"]) for r in history["data"]]
        assert runs == [  # one record per run, newest first; none for a quiet start
            ("request", False),
            ("request", False),
            ("request", True),
        ]


async def test_a_garbled_state_file_and_an_interrupted_operation_are_reported(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    settings = settings_of(env)
    async with RunningApi(settings) as api:
        await start_run(api)
        await install(api, "clock")
    (settings.data_dir / "state" / "plugin_state.json").write_bytes(b"\x00garbage{")
    waiting = Operation("install", "ticker", {}, "ticker")  # the process died while it waited
    with (settings.data_dir / "journal" / "operations.jsonl").open("ab") as journal:
        journal.write(orjson.dumps(waiting.to_journal()) + b"\n")
    async with RunningApi(settings) as api:
        at_start = await start_run(api)
        assert found(at_start) == [
            (None, "plugin_state_corrupted", "none"),
            ("ticker", "interrupted_operation", "none"),
        ]
        assert waiting.operation_id in at_start["inconsistencies"][1]["description"]
        dry = await reconcile(api, {"dry_run": True})  # reported once; the state loss stays
        assert found(dry) == [(None, "plugin_state_corrupted", "none")]
        _, health = await api.get(HEALTH)
        codes = [r["code"] for r in health["data"]["reasons"]]
        assert "reconcile_manual_fixes" not in codes  # nothing in it needs a person


async def test_an_uninstalled_plugin_is_never_reinstalled_by_repeated_runs(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    settings = settings_of(env)
    async with RunningApi(settings) as api:
        await start_run(api)
        await install(api, "clock")
        status, body = await api.post(
            "/api/v3/plugins/uninstall?wait=true", {"plugin_id": "clock", "preserve_config": True}
        )
        assert status == 200, body
        for _ in range(3):
            result = await reconcile(api)
            assert found(result) == [("clock", "orphaned_config", "none")]
            assert result["fixed"] == []
            _, queue = await api.get("/api/v3/plugins/operations")
            assert queue["data"] == []
    async with RunningApi(settings) as api:  # nor by the run at start
        assert found(await start_run(api)) == [("clock", "orphaned_config", "none")]
        assert not (settings.data_dir / "plugins" / "clock").exists()


async def test_a_reinstall_that_keeps_failing_stops_at_its_budget_even_across_restarts(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    settings = settings_of(env)
    plugins = settings.data_dir / "plugins"
    async with RunningApi(settings) as api:
        await start_run(api)
        await install(api, "clock")
        served = next(entry for entry in env.entries if entry["id"] == "clock")
        env.add_entry(registry_entry("clock", str(tmp_path / "gone.git")))  # cannot be cloned
        shutil.rmtree(plugins / "clock")
        for attempt in (1, 2, 3):
            result = await reconcile(api)
            [item] = result["fixed"]
            assert f"attempt {attempt} of 3" in item["description"]
            assert (await queued_operation(api, item["description"]))["status"] == "failed"
        spent = await reconcile(api)
        assert found(spent) == [("clock", "plugin_missing_on_disk", "manual_fix_required")]
        _, queue = await api.get("/api/v3/plugins/operations")
        assert queue["data"] == []
    async with RunningApi(settings) as api:
        at_start = await start_run(api)
        assert found(at_start) == [("clock", "plugin_missing_on_disk", "manual_fix_required")]
        dry = await reconcile(api, {"dry_run": True, "force": True})
        assert found(dry) == [("clock", "plugin_missing_on_disk", "auto_fix")]
        assert found(await reconcile(api)) == found(at_start)  # the dry run reset nothing
        env.add_entry(served)  # the registry can serve it again
        forced = await reconcile(api, {"force": True})
        [item] = forced["fixed"]
        assert "attempt 1 of 3" in item["description"]
        assert (await queued_operation(api, item["description"]))["status"] == "completed"
        assert found(await reconcile(api)) == []


class HeldRegistry:
    """The registry file served over HTTP on 127.0.0.1; ``hold`` makes it wait to answer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hold = asyncio.Event()
        self.hold.set()
        self.requests = 0
        app = web.Application()
        app.router.add_get("/plugins.json", self.serve)
        self.server = TestServer(app, host="127.0.0.1")

    async def serve(self, request: web.Request) -> web.Response:
        self.requests += 1
        async with asyncio.timeout(20):
            await self.hold.wait()
        return web.Response(body=self.path.read_bytes(), content_type="application/json")


def processed(api: RunningApi, name: str) -> int:
    assert api.system is not None
    [stats] = [s for s in api.system.tree.stats() if s.name == f"root/{name}"]
    return stats.processed


async def test_two_requests_at_once_share_one_run(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    registry = HeldRegistry(env.registry_path)
    await registry.server.start_server()
    try:
        async with RunningApi(settings_of(env)) as api:
            await install(api, "clock")
        url = str(registry.server.make_url("/plugins.json"))
        settings = env.settings(registry_url=url, reconcile_interval_s=0)
        async with RunningApi(settings) as api:
            shutil.rmtree(settings.data_dir / "plugins" / "clock")
            _, before = await api.get(HISTORY)
            registry.hold.clear()  # the run will wait in its registry look-up
            seen, handled = registry.requests, processed(api, "reconciler")
            first = asyncio.ensure_future(reconcile(api))
            await wait_until(lambda: registry.requests > seen, what="the run to ask the registry")
            second = asyncio.ensure_future(reconcile(api))
            await wait_until(
                lambda: processed(api, "reconciler") >= handled + 2,
                what="the second request to reach the reconciler",
            )
            registry.hold.set()
            one, two = await asyncio.gather(first, second)
            assert one == two
            assert found(one) == [("clock", "plugin_missing_on_disk", "auto_fix")]
            _, after = await api.get(HISTORY)
            assert len(after["data"]) == len(before["data"]) + 1  # one run, one record
            # One reinstall queued (it fails: a registry served over HTTP refuses file:// repos).
            await queued_operation(api, one["fixed"][0]["description"])
            _, installs = await api.get("/api/v3/plugins/operation/history?operation_type=install")
            assert [r["status"] for r in installs["data"]] == ["failed", "completed"]
    finally:
        registry.hold.set()
        await registry.server.close()


async def test_the_body_is_optional_and_its_flags_are_json_booleans(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    async with RunningApi(settings_of(env)) as api:
        await start_run(api)
        assert (await reconcile(api))["dry_run"] is False
        assert (await reconcile(api, {}))["dry_run"] is False
        for body in ({"dry_run": "true"}, {"force": 1}, [True], "x"):
            status, answer = await api.post(RECONCILE, body)
            assert status == 400, answer
            assert answer["error_code"] == "INVALID_INPUT"


async def test_a_state_that_disagrees_with_the_config_is_given_the_config_again(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    async with RunningApi(settings_of(env)) as api:
        assert api.system is not None
        await start_run(api)
        await install(api, "clock")
        await install(api, "ticker")
        flags = await api.system.config_store.ask(GetPluginFlags(), timeout=5.0)
        # The view goes wrong as if it had missed an event: a flag the config never had.
        wrong = FollowConfig(flags.generation + 1, "clock", {"clock": False})
        await api.system.state.ask(wrong, timeout=5.0)
        status, _ = await api.post(
            "/api/v3/plugins/toggle", {"plugin_id": "ticker", "enabled": False}
        )
        assert status == 200
        dry = await reconcile(api, {"dry_run": True})
        assert found(dry) == [("clock", "plugin_enabled_mismatch", "auto_fix")]
        _, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
        assert state["data"]["enabled"] is False  # the dry run changed nothing
        assert (await reconcile(api))["inconsistencies_fixed"] == 1
        _, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
        assert state["data"]["enabled"] is True
        assert found(await reconcile(api)) == []

        # A view holding a value newer than every config save cannot be corrected by a run:
        # the fix says so and becomes manual instead of claiming success again and again.
        newer = FollowConfig(flags.generation + 99, "clock", {"clock": False})
        await api.system.state.ask(newer, timeout=5.0)
        result = await reconcile(api)
        assert found(result) == [("clock", "plugin_enabled_mismatch", "manual_fix_required")]
        assert "kept its own value" in result["manual_fix_required"][0]["description"]


async def test_it_runs_on_its_interval_and_finds_damage_without_a_request(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    settings = env.settings(reconcile_interval_s=0.2)
    async with RunningApi(settings) as api:
        await install(api, "clock")
        (settings.data_dir / "tmp" / "debris").mkdir()

        async def scheduled_report() -> dict[str, Any] | None:
            _, health = await api.get(HEALTH)
            last = health["data"]["last_reconcile"]
            return (
                last if last["trigger"] == "interval" and last["inconsistencies_manual"] else None
            )

        last = await wait_until(scheduled_report, what="an interval run to find the debris")
        assert found(last) == [(None, "leftover_staging", "manual_fix_required")]
        _, history = await api.get(HISTORY)  # a scheduled run that found something is recorded
        assert history["data"][0]["details"]["trigger"] == "interval"


async def test_quiet_interval_runs_write_no_file(tmp_path: Path) -> None:
    """The ledger is written when it changes, never by a run that changed nothing."""
    env = make_env(tmp_path)
    settings = env.settings(reconcile_interval_s=0.1)
    async with RunningApi(settings) as api:
        await install(api, "clock")
        seen: set[str] = set()

        def quiet_runs(count: int):
            async def seen_enough() -> bool:
                _, health = await api.get(HEALTH)
                last = health["data"]["last_reconcile"]
                if last["trigger"] == "interval" and not last["inconsistencies_found"]:
                    seen.add(last["operation_id"])
                return len(seen) >= count

            return seen_enough

        async def install_recorded() -> bool:  # the history appends it after the answer
            _, page = await api.get("/api/v3/plugins/operation/history?operation_type=install")
            return bool(page["data"])

        await wait_until(install_recorded, what="the install in the history")
        await wait_until(quiet_runs(1), what="a quiet interval run", interval=0.05)
        ledger = settings.data_dir / "reconcile" / "ledger.json"
        history = sorted((settings.data_dir / "history").iterdir())
        before = [(p, p.stat().st_ino, p.stat().st_mtime_ns) for p in [ledger, *history]]
        await wait_until(quiet_runs(4), what="three more quiet interval runs", interval=0.05)
        after = [(p, p.stat().st_ino, p.stat().st_mtime_ns) for p in [ledger, *history]]
        assert after == before


async def test_a_damaged_ledger_is_set_aside_and_said(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    settings = settings_of(env)
    ledger = settings.data_dir / "reconcile" / "ledger.json"
    ledger.parent.mkdir(parents=True)
    ledger.write_text('{"attempts": {"clock": "many"}}')
    async with RunningApi(settings) as api:
        assert found(await start_run(api)) == []
        _, health = await api.get(HEALTH)
        [reason] = [r for r in health["data"]["reasons"] if r["code"] == "damaged_file_set_aside"]
        assert "ledger.json" in reason["message"] + (reason["detail"] or "")
        assert orjson.loads(ledger.read_bytes()) == {"attempts": {}, "reported": []}
        [aside] = [p.name for p in ledger.parent.iterdir() if p.name != "ledger.json"]
        assert aside.startswith("ledger.json.damaged-")
