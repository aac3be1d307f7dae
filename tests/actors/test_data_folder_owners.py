"""Each data folder has one writer: only its owner's package names it (plus listed readers).

``actors/system.py`` is the wiring: there a folder may only be handed to its owner (the child
whose factory uses it, or the class of the owner's package it is passed to). web/ and run.py
never name a data folder.
"""

from __future__ import annotations

from tests.walls import (
    REPO_ROOT,
    FolderRule,
    actor_package,
    data_folders,
    folder_trespasses,
    folder_uses,
    sources,
)

# The config store tells a lost config from a first start by signs the device was used.
EVIDENCE = "looks (read only) for signs of use, to tell a lost config from a first start"
RULES = {
    "config_dir": FolderRule("config_store", {}),
    "plugins_dir": FolderRule(
        "installer",
        {
            "state": "derives each plugin's view from the installed folders it scans",
            "config_store": "validates plugin configs against each plugin's config_schema.json",
            "reconciler": "compares the folders, manifests, install records and tombstones with "
            "the config (reinstalls go through the queue)",
        },
    ),
    "state_dir": FolderRule(
        "state",
        {"config_store": EVIDENCE},
    ),
    "history_dir": FolderRule(
        "history",
        {"config_store": EVIDENCE},
    ),
    "journal_dir": FolderRule(
        "queue",
        {"config_store": EVIDENCE},
    ),
    "tmp_dir": FolderRule(  # staging, on the same filesystem as plugins/
        "installer",
        {"reconciler": "lists what staging is left while no operation runs (never removes it)"},
    ),
    "cache_dir": FolderRule("catalog", {}),  # the registry's last copy
    "health_dir": FolderRule("health", {}),  # plugin circuit breakers
    "reconcile_dir": FolderRule("reconciler", {}),  # the reinstall attempt budget
    "auth_dir": FolderRule("access", {}),  # the API token file (token keeper, rotate-token)
}
SCANNED = ("actors", "web", "run.py")
DECLARED_IN = "actors/paths.py"


def _real_sources() -> list[tuple[str, str]]:
    return [
        (path, text)
        for package in SCANNED
        for path, text in sources(package)
        if path != DECLARED_IN
    ]


def test_every_data_folder_has_an_owner() -> None:
    declared = data_folders((REPO_ROOT / DECLARED_IN).read_text(encoding="utf-8"))
    assert declared == set(RULES)


def test_only_the_owner_names_its_folder() -> None:
    found = [
        str(finding)
        for path, text in _real_sources()
        for finding in folder_trespasses(path, text, RULES)
    ]
    assert found == []


def test_every_listed_reader_still_reads() -> None:
    """An exception nobody needs any more is removed, not left to cover a future writer."""
    used = {
        (folder, actor_package(path))
        for path, text in _real_sources()
        for folder in folder_uses(path, text, frozenset(RULES))
    }
    for folder, rule in RULES.items():
        for reader in rule.readers:
            assert (folder, reader) in used, f"{reader} no longer reads {folder}"


def test_the_detector_sees_a_folder_used_by_another_package() -> None:
    spy = "async def leak(self):\n    await write(self.paths.journal_dir / 'x', b'')\n"
    [finding] = folder_trespasses("actors/history/spy.py", spy, RULES)
    assert str(finding) == (
        "actors/history/spy.py:2: journal_dir is used by package history; its owner is queue"
    )
    assert folder_trespasses("actors/queue/journal.py", spy, RULES) == []
    reader = "scan = scan_plugins(self._paths.plugins_dir)"
    assert folder_trespasses("actors/state/actor.py", reader, RULES) == []
    [finding] = folder_trespasses("actors/state/actor.py", "folder = paths.cache_dir", RULES)
    assert "cache_dir is used by package state" in finding.what
    for outside in ("web/routes/health.py", "run.py", "actors/toggle.py"):
        [finding] = folder_trespasses(outside, "usage = system.paths.config_dir", RULES)
        assert "used by code outside every actor package" in finding.what


def test_the_detector_follows_the_wiring() -> None:
    wiring = (
        "from actors.history.actor import HistoryActor\n"
        "from actors.queue.journal import Journal\n"
        "def build(paths):\n"
        "    journal = Journal(paths.journal_dir)\n"
        "    def history():\n"
        "        return HistoryActor(paths.{history})\n"
        "    stray = Journal(paths.{stray})\n"
        "    loose = paths.state_dir\n"
        "    return [ChildSpec('history', history)]\n"
    )
    good = wiring.format(history="history_dir", stray="journal_dir")
    found = [str(f) for f in folder_trespasses("actors/system.py", good, RULES)]
    assert found == [
        "actors/system.py:8: state_dir is used by code outside every actor package;"
        " its owner is state"
    ]
    bad = wiring.format(history="journal_dir", stray="history_dir")
    found = [str(f) for f in folder_trespasses("actors/system.py", bad, RULES)]
    assert found[:2] == [
        "actors/system.py:6: journal_dir is used by package history; its owner is queue",
        "actors/system.py:7: history_dir is used by package queue; its owner is history",
    ]
