"""A plugin's requirements.txt, installed by pip into the plugin's own ``.deps`` folder."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.proc import ProcessTimeout, child_env, run_process
from actors.installer.redact import redact_text, tail_lines

log = structlog.get_logger(__name__)

REQUIREMENTS_FILE = "requirements.txt"
DEPS_DIR = ".deps"
MAX_REQUIREMENTS_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class PipOptions:
    """Where pip may look for packages; a device without network uses ``no_index`` + ``find_links``.

    pip runs ``--isolated``: these options, not the environment or pip.conf, decide.
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    timeout_s: float = 300.0
    python: str = field(default_factory=lambda: sys.executable)

    def index_args(self) -> list[str]:
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        elif self.index_url:
            args += ["--index-url", self.index_url]
        if not self.no_index:
            for url in self.extra_index_urls:
                args += ["--extra-index-url", url]
        for location in self.find_links:
            args += ["--find-links", location]
        return args


def _fail(message: str) -> PlugvisorError:
    return PlugvisorError(
        ErrorCode.PLUGIN_INSTALL_FAILED, message, context={"file": REQUIREMENTS_FILE}
    )


def read_requirements(root: Path) -> list[str]:
    """The real requirement lines (no blanks, no comments); refuses pip option lines. Blocking."""
    path = root / REQUIREMENTS_FILE
    if not path.exists():
        return []
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_REQUIREMENTS_BYTES:
        raise _fail(f"{REQUIREMENTS_FILE} is not a regular file of at most 64 KiB")
    requirements = []
    for number, raw in enumerate(
        path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
    ):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise _fail(f"{REQUIREMENTS_FILE} line {number}: only package names, no pip options")
        requirements.append(line)
    return requirements


def _pip_failure(output: str, hide: tuple[str, ...]) -> PlugvisorError:
    text = redact_text(tail_lines(output, count=20), hide=hide)
    log.warning("pip_failed", output=text)
    if "no space left" in output.lower():
        return PlugvisorError(
            ErrorCode.INSUFFICIENT_STORAGE,
            "Not enough free space to install the plugin's dependencies",
        )
    errors = [line for line in text.splitlines() if line.startswith("ERROR:")]
    reason = errors[0][len("ERROR:") :].strip() if errors else "pip failed"
    return _fail(f"Installing the plugin's Python dependencies failed: {reason[:300]}")


async def install_requirements(root: Path, options: PipOptions, *, work_dir: Path) -> None:
    """``python -m pip install --target <root>/.deps -r <root>/requirements.txt``.

    Raises ``PLUGIN_INSTALL_FAILED`` (pip failed), ``TIMEOUT`` or ``INSUFFICIENT_STORAGE``.
    """
    argv = [
        options.python, "-m", "pip", "install",
        "--isolated", "--no-input", "--disable-pip-version-check", "--no-cache-dir",
        "--no-warn-script-location", "--quiet",
        "--target", str(root / DEPS_DIR),
        *options.index_args(),
        "--requirement", str(root / REQUIREMENTS_FILE),
    ]  # fmt: skip
    env = child_env(("PIP_",))
    env["PIP_NO_INPUT"] = "1"
    try:
        result = await run_process(argv, cwd=work_dir, env=env, timeout_s=options.timeout_s)
    except ProcessTimeout:
        raise PlugvisorError(
            ErrorCode.TIMEOUT,
            f"Installing the plugin's dependencies took longer than {options.timeout_s:g} s",
        ) from None
    if result.returncode != 0:
        raise _pip_failure(result.output, hide=(str(work_dir),))
