"""Fuzzing the API from its own OpenAPI document with schemathesis, against run.py as a process.

Shared by tests/web/test_fuzz.py (a bounded run in the suite) and bench/fuzz.py (a longer one).
The server runs in a folder of its own with a local registry of git repositories
(``make_env``), its working directory, HOME and TMPDIR pointing at empty folders beside the data
dir, so that anything it writes outside the data dir shows in a before/after snapshot. It
reaches no network: the registry is a file, and the install URLs the fuzzer sends name local
repositories or closed ports on 127.0.0.1 (the ``plugvisor-source-url`` format is drawn from
``local_source_urls``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.supervisor_process import free_port, plugvisor_command
from tests.web.plugin_env import PluginEnv, make_env

# With ?wait=true a queued operation answers with the operation's own error, and the contract
# maps a failed install, update or uninstall to 500 (502 when a source cannot be fetched):
# such an answer, carrying the operation record, is an outcome, not a server fault.
OPERATION_FAILURES = frozenset(
    {"PLUGIN_INSTALL_FAILED", "PLUGIN_UPDATE_FAILED", "PLUGIN_UNINSTALL_FAILED", "NETWORK_ERROR"}
)


def _waited_operation_failed(response: Any, case: Any) -> bool:
    if str((case.query or {}).get("wait", "")).lower() not in ("true", "1"):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and body.get("error_code") in OPERATION_FAILURES
        and "operation" in (body.get("context") or {})
    )


@schemathesis.check
def no_server_fault(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's not_a_server_error, except a waited operation's documented failure."""
    if response.status_code >= 500 and _waited_operation_failed(response, case):
        return True
    return not_a_server_error(ctx, response, case)


def _blank_optional_body(case: Any) -> bool:
    """A body of only whitespace where the body is optional: read as no body, by design."""
    body = case.body
    optional = case.operation.definition.raw.get("requestBody", {}).get("required") is False
    return optional and isinstance(body, (bytes, str)) and not body.strip()


@schemathesis.check
def refuses_invalid_input(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's negative_data_rejection, except a blank optional body (no body)."""
    if _blank_optional_body(case):
        return True
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    no_server_fault,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, refuses_invalid_input]
START_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 150.0  # above the 120 s a ?wait=true may block
SOURCE_URL_FORMAT = "plugvisor-source-url"


def closed_port() -> int:
    """A loopback port nothing listens on (bound and released: refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_source_urls(env: PluginEnv) -> st.SearchStrategy[str]:
    """Install sources that never leave the machine: the local repositories, missing local
    paths, and http/https/ssh URLs of a closed port on 127.0.0.1."""
    port = closed_port()
    repos = [repo.url for repo in env.repos.values()]
    names = st.from_regex(r"\A[a-z][a-z0-9-]{0,12}\Z")
    remote = st.builds(
        lambda scheme, name, suffix: f"{scheme}://127.0.0.1:{port}/{name}{suffix}",
        st.sampled_from(["http", "https", "ssh"]),
        names,
        st.sampled_from([".git", "", ".zip", ".tar.gz"]),
    )
    missing = names.map(lambda name: (env.root / "missing" / name).as_uri())
    return st.one_of(st.sampled_from(repos), missing, remote)


@dataclass
class Server:
    """run.py serving from ``root`` on a free port; ``stop`` ends it (bounded)."""

    root: Path
    env: PluginEnv
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_server(root: Path) -> Server:
    env = make_env(root)
    for folder in ("cwd", "home", "tmp", "logs"):
        (root / folder).mkdir()
    port = free_port()
    child_env = {
        **os.environ,
        "HOME": str(root / "home"),
        "TMPDIR": str(root / "tmp"),
        "PLUGVISOR_PIP_NO_INDEX": "1",
    }
    with (root / "logs" / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            plugvisor_command(port, root / "data", env.registry_path),
            cwd=root / "cwd",
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    server = Server(root, env, process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "run.py exited before serving"
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(server.base_url + "/healthz", timeout=2).status_code == 200:
                return server
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"run.py did not serve within {START_TIMEOUT_S} s")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` but data/ and logs/: size and modification time.

    tmp/ (the server's TMPDIR) is listed by its entries only: git and pip, and the capture of
    their output, may use unnamed or short-lived files there; none may be left behind.
    """
    found: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [name for name in dirnames if name not in ("data", "logs")]
        for name in [*dirnames, *filenames]:
            path = here / name
            info = path.lstat()
            key = str(path.relative_to(root))
            found[key] = (0, 0) if key == "tmp" else (info.st_size, info.st_mtime_ns)
    return found


@dataclass
class FuzzReport:
    operations: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def fuzz(
    server: Server,
    examples: int,
    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    seed: int | None = 0,
) -> FuzzReport:
    """Every operation of the served document, ``examples`` cases per operation and mode.

    ``seed=None`` draws new cases each run; a number repeats the same ones.
    """
    schemathesis.openapi.format(SOURCE_URL_FORMAT, local_source_urls(server.env))
    schema = schemathesis.openapi.from_url(server.base_url + "/api/v3/openapi.json")
    # No token is configured on a loopback server, so leaving the bearer header out is no
    # schema-violating request here (tests/web/test_access*.py cover the token).
    # Unknown query parameters and headers are ignored by design, as by most HTTP servers:
    # adding them makes no schema-violating request.
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    report = FuzzReport()
    started = time.monotonic()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1
        # The documented examples first (plugin_id "clock" is installed, so its config,
        # schema and health paths are reached), then generated cases of each mode.
        runs = [
            (f"{operation.label} [examples]", strategy, CHECKS, min(examples, 10))
            for strategy in schema.get_strategies_from_examples(operation)
        ]
        for mode in modes:
            checks = NEGATIVE_CHECKS if mode is GenerationMode.NEGATIVE else CHECKS
            label = f"{operation.label} [{mode.value}]"
            runs.append((label, operation.as_strategy(generation_mode=mode), checks, examples))
        for label, strategy, checks, count in runs:
            _run_cases(server, session, label, strategy, checks, count, seed, report)
    report.seconds = time.monotonic() - started
    return report


def _run_cases(
    server: Server,
    session: requests.Session,
    label: str,
    strategy: Any,
    checks: list[Any],
    examples: int,
    seed: int | None,
    report: FuzzReport,
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate),  # no shrinking: bounded in requests
    )
    @given(strategy)
    def run(case: Any) -> None:
        response = case.call_and_validate(
            base_url=server.base_url, session=session, checks=checks, timeout=REQUEST_TIMEOUT_S
        )
        report.requests += 1
        report.statuses[response.status_code] += 1

    if seed is not None:
        run = fixed_seed(seed)(run)
    try:
        run()
    except Unsatisfiable:  # nothing to break: the operation takes no input (negative mode)
        pass
    except (Exception, BaseExceptionGroup) as exc:  # failed checks: named, and the run goes on
        report.failures.append(f"{label}: {exc}")


def install_example_plugin(server: Server) -> None:
    """Install ``clock`` (the documents' example id) and wait: its own paths get reached too."""
    answer = requests.post(
        server.base_url + "/api/v3/plugins/install?wait=true",
        json={"plugin_id": "clock"},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert answer.status_code == 200, answer.text


def healthy(server: Server) -> tuple[int, int, Any]:
    """(GET /healthz status, GET /api/v3/supervisor/health status, its data.status)."""
    live = requests.get(server.base_url + "/healthz", timeout=10)
    health = requests.get(server.base_url + "/api/v3/supervisor/health", timeout=10)
    return live.status_code, health.status_code, health.json()["data"]["status"]
