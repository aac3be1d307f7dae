"""web/ never opens, stats or lists files: what is on disk reaches it only through actors.

And every ask it sends waits as long as the one policy (``Settings.timeouts``) says.
"""

from __future__ import annotations

from tests.walls import ask_timeouts, filesystem_touches, sources

# The wall's only exceptions, each with its reason.
READS_ITS_OWN_FILES = {
    # The dashboard's html, scripts and styles ship beside it in web/dashboard/; it reads them
    # once, when the app is created, and never a file under --data-dir.
    "web/dashboard_assets.py",
}


def test_no_web_module_touches_the_filesystem() -> None:
    found = [
        str(finding)
        for path, text in sources("web")
        if path not in READS_ITS_OWN_FILES
        for finding in filesystem_touches(path, text)
    ]
    assert found == []


def test_the_exception_reads_only_the_dashboard_folder() -> None:
    """What the excepted module names as a place to read: its own folder, nothing of DataPaths."""
    for path in READS_ITS_OWN_FILES:
        text = dict(sources("web"))[path]
        assert 'Path(__file__).resolve().parent / "dashboard"' in text
        for word in ("data_dir", "paths", "settings", "system"):
            assert word not in text, (path, word)


def test_the_detector_sees_each_way_of_touching_a_file() -> None:
    touching = {
        "import shutil": "imports shutil",
        "import os.path": "imports os.path",
        "from os import scandir": "imports os",
        "import aiofiles": "imports aiofiles",
        "from pathlib import Path": "imports pathlib",
        "from actors.fsio import atomic_write": "imports actors.fsio",
        "data = open(name).read()": "uses open",
        "reader = functools.partial(open, name)": "uses open",
        "system.paths.root.stat()": "uses .stat",
        "(system.paths.config_dir / 'config.json').read_bytes()": "uses .read_bytes",
        "folder.write_text('x')": "uses .write_text",
        "names = list(folder.iterdir())": "uses .iterdir",
        "found = sorted(folder.glob('*.json'))": "uses .glob",
        "if backup.exists(): pass": "uses .exists",
        "async with opener(path) as f, f.open() as g: pass": "uses .open",
        "usage = await asyncio.to_thread(disk.disk_usage, root)": "uses .disk_usage",
        "data = await asyncio.to_thread(path.read_bytes)": "uses .read_bytes",
    }
    for snippet, what in touching.items():
        found = [finding.what for finding in filesystem_touches("web/routes/spy.py", snippet)]
        assert found == ([what] if what else []), snippet
    quiet = (
        "import re\nfrom aiohttp import web\nbody = await request.read()\ntext.replace('a', 'b')"
    )
    assert filesystem_touches("web/routes/quiet.py", quiet) == []


def test_every_ask_takes_its_timeout_from_the_policy() -> None:
    found = [str(finding) for path, text in sources("web") for finding in ask_timeouts(path, text)]
    assert found == []


def test_the_detector_sees_a_default_or_literal_timeout() -> None:
    cases = {
        "await system.queue.ask(ListOperations())": ["asks without a timeout"],
        "await system.catalog.ask(RefreshRegistry(), timeout=45.0)": [
            "asks with a literal timeout"
        ],
        "await ref.ask(message, 2)": ["asks with a literal timeout"],
        "await ref.ask(m, timeout=max(timeouts.read, 30))": ["asks with a literal timeout"],
        "await ref.ask(m, timeout=system.settings.timeouts.network)": [],
        "await ref.ask(m, timeout=timeout)": [],
    }
    for snippet, expected in cases.items():
        found = [finding.what for finding in ask_timeouts("web/routes/spy.py", snippet)]
        assert found == expected, snippet
