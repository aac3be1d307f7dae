"""actors/ never imports web/, run.py or aiohttp's server (aiohttp.web); its client is fine."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.walls import REPO_ROOT, forbidden_imports, sources

# web/ and run.py sit above the domain; aiohttp.web (and its aiohttp.web_* modules) is the server.
FORBIDDEN = re.compile(r"^(web|run)(\.|$)|^aiohttp\.web")


def test_no_actor_module_imports_the_web_layer() -> None:
    found = [
        str(finding)
        for path, text in sources("actors")
        for finding in forbidden_imports(path, text, FORBIDDEN)
    ]
    assert found == []


def test_importing_every_actor_module_loads_no_web_module() -> None:
    code = (
        "import importlib, pkgutil, sys, actors\n"
        "for info in pkgutil.walk_packages(actors.__path__, 'actors.'):\n"
        "    importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('web', 'run')"
        " or m.startswith('aiohttp.web'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_detector_sees_each_way_of_crossing_the_wall() -> None:
    crossing = {
        "from aiohttp import web": "aiohttp.web",
        "import aiohttp.web": "aiohttp.web",
        "from aiohttp.web_request import Request": "aiohttp.web_request",
        "from aiohttp import web as server": "aiohttp.web",
        "from web.http import success": "web.http",
        "import web.errors": "web.errors",
        "from .. import web": "actors.web",  # not web/: a relative name stays inside actors/
        "from run import main": "run",
        "if TYPE_CHECKING:\n    from web.keys import SYSTEM": "web.keys",
    }
    for snippet, name in crossing.items():
        found = forbidden_imports("actors/queue/spy.py", snippet, FORBIDDEN)
        if name.startswith("actors."):
            assert found == [], snippet
        else:
            assert f"actors/queue/spy.py:{snippet.count(chr(10)) + 1}: imports {name}" in map(
                str, found
            ), snippet
    allowed = "import aiohttp\nfrom aiohttp import ClientSession, ClientTimeout\nimport webbrowser"
    assert forbidden_imports("actors/installer/download.py", allowed, FORBIDDEN) == []
