"""The git command line, hardened: vetted URLs, ``--`` before user values, no prompts, no ext::."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.blocking import run_blocking
from actors.installer.proc import ProcessResult, ProcessTimeout, child_env, run_process
from actors.installer.redact import display_url, redact_text, redact_url, tail_lines
from actors.installer.urls import validate_branch, validate_git_url

log = structlog.get_logger(__name__)

ALLOWED_PROTOCOLS = ("https", "http", "ssh", "file")
# Configuration given on every command line; it outranks any config file.
_HARDENING = (
    "-c", "protocol.allow=never",
    "-c", "protocol.ext.allow=never",
    "-c", "protocol.fd.allow=never",
    *(arg for name in ALLOWED_PROTOCOLS for arg in ("-c", f"protocol.{name}.allow=always")),
    "-c", "core.hooksPath=/dev/null",
    "-c", "credential.interactive=false",
    "-c", "submodule.recurse=false",
    "-c", "advice.detachedHead=false",
)  # fmt: skip
_KEEP_GIT_VARS = frozenset({"GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_HTTP_USER_AGENT"})
_NETWORK_HINTS = (
    "could not resolve",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "connection reset",
    "unable to access",
    "could not read from remote",
    "early eof",
    "operation timed out",
)


@dataclass(frozen=True, slots=True)
class CloneResult:
    commit: str
    branch: str | None  # None when git checked out a tag (detached HEAD)


class BranchNotFound(Exception):
    """The remote has no branch or tag of that name (a fallback may be tried)."""


def git_env() -> dict[str, str]:
    """The caller's environment minus git's own variables, plus: never prompt, never ask."""
    neutral = shutil.which("true") or "/bin/true"
    env = child_env(("GIT_", "SSH_ASKPASS"), keep=_KEEP_GIT_VARS)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS=neutral,
        SSH_ASKPASS=neutral,
        SSH_ASKPASS_REQUIRE="never",
        GIT_SSH_COMMAND="ssh -o BatchMode=yes",
        GIT_ALLOW_PROTOCOL=":".join(ALLOWED_PROTOCOLS),
        GIT_PROTOCOL_FROM_USER="0",
        GIT_CONFIG_NOSYSTEM="1",
        LC_ALL="C",
        LANGUAGE="C",
    )
    return env


class GitClient:
    """Runs ``git`` with hardening flags; each method re-checks its URL first."""

    def __init__(self, *, binary: str = "git", timeout_s: float = 120.0) -> None:
        self.binary = binary
        self.timeout_s = timeout_s

    async def _run(self, args: Sequence[str], *, cwd: Path, what: str, url: str) -> ProcessResult:
        argv = [self.binary, *_HARDENING, *args]
        env = git_env()
        # Never let git climb out of our folders looking for a repository (and its config).
        env["GIT_CEILING_DIRECTORIES"] = str(cwd.parent)
        try:
            return await run_process(argv, cwd=cwd, env=env, timeout_s=self.timeout_s)
        except ProcessTimeout:
            raise PlugvisorError(
                ErrorCode.TIMEOUT,
                f"git {what} of {display_url(url)} took over {self.timeout_s:g} s and was stopped",
            ) from None
        except FileNotFoundError:
            raise PlugvisorError(
                ErrorCode.SYSTEM_ERROR, "git is not installed on this device"
            ) from None

    def _failure(self, result: ProcessResult, what: str, url: str, cwd: Path) -> PlugvisorError:
        text = result.output.lower()
        detail = redact_text(tail_lines(result.output), hide=(str(cwd),))
        log.warning(
            "git_failed", action=what, url=redact_url(url), status=result.returncode, output=detail
        )
        code = ErrorCode.PLUGIN_INSTALL_FAILED
        if "no space left" in text:
            return PlugvisorError(
                ErrorCode.INSUFFICIENT_STORAGE, f"Not enough free space to {what} the repository"
            )
        if "not found" in text or "does not appear to be a git repository" in text:
            reason = "the repository was not found"
        elif any(hint in text for hint in ("authentication", "username", "terminal prompts")):
            reason = "the repository needs credentials"
        elif any(hint in text for hint in _NETWORK_HINTS):
            code, reason = ErrorCode.NETWORK_ERROR, "the server could not be reached"
        else:
            reason = f"git exited with status {result.returncode}"
        return PlugvisorError(code, f"Could not {what} {display_url(url)}: {reason}")

    async def clone(self, url: str, dest: Path, *, branch: str | None) -> CloneResult:
        """Shallow-clone ``branch`` (or the default branch) into ``dest``, which must not exist."""
        url = validate_git_url(url)
        branch = validate_branch(branch)
        args = ["clone", "--depth", "1", "--single-branch", "--no-tags", "--quiet", "--template="]
        if branch:
            args += ["--branch", branch]
        args += ["--", url, str(dest)]
        result = await self._run(args, cwd=dest.parent, what="clone", url=url)
        if result.returncode != 0:
            lowered = result.output.lower()
            if branch and "remote branch" in lowered and "not found" in lowered:
                raise BranchNotFound(branch)
            raise self._failure(result, "clone", url, dest.parent)
        head = await self._run(
            ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=dest, what="inspect", url=url
        )
        if head.returncode != 0:
            raise PlugvisorError(
                ErrorCode.PLUGIN_INSTALL_FAILED, f"{display_url(url)} has no commits to install"
            )
        ref = await self._run(
            ["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=dest, what="inspect", url=url
        )
        current = ref.output.strip() if ref.returncode == 0 else None
        return CloneResult(commit=head.output.strip(), branch=current)

    async def clone_first(
        self, url: str, dest: Path, branches: Sequence[str | None]
    ) -> tuple[CloneResult, str | None]:
        """Try each branch in turn (``None`` = the default branch); the first that exists wins.

        Only a missing branch moves on to the next candidate; any other failure ends the attempt.
        """
        candidates = list(dict.fromkeys(branches)) or [None]
        for branch in candidates:
            try:
                return await self.clone(url, dest, branch=branch), branch
            except BranchNotFound:
                log.info("git_branch_missing", url=redact_url(url), branch=branch)
                await run_blocking(shutil.rmtree, dest, ignore_errors=True)
        raise PlugvisorError(
            ErrorCode.PLUGIN_INSTALL_FAILED,
            f"No branch {', '.join(b for b in candidates if b)} exists in {display_url(url)}",
        )

    async def remote_commit(self, url: str, branch: str, cwd: Path) -> str | None:
        """The commit ``branch`` points at on the remote, or ``None`` when it cannot be told."""
        url = validate_git_url(url)
        branch = validate_branch(branch) or "HEAD"
        ref = branch if branch == "HEAD" else f"refs/heads/{branch}"
        try:
            result = await self._run(
                ["ls-remote", "--quiet", "--", url, ref], cwd=cwd, what="query", url=url
            )
        except PlugvisorError:
            return None
        if result.returncode != 0 or not result.output.strip():
            return None
        return result.output.split()[0]
