"""Plugin/core compatibility: versions by python-semver, LEDMatrix-style ranges kept by hand."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors.errors import ErrorCode, PlugvisorError

if TYPE_CHECKING:
    from semver import Version

# The LEDMatrix core version this supervisor stands in for; plugins declare ranges against it.
LEDMATRIX_CORE_VERSION = "3.2.0"

# python-semver parses, orders (pre-releases, build metadata) and bumps versions. Kept by
# hand, as python-semver has none of them: a leading "v", wildcards ("3.x", "*"), and the
# range forms of parse_range below (imported lazily: the boot path only needs the constant).
_WILDCARDS = frozenset({"x", "X", "*"})
_OPERATOR = re.compile(r"^(>=|<=|==|>|<|=|\^|~)?\s*(.*)$")
_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")
_HOLDS: dict[str, Callable[[Version, Version], bool]] = {
    "=": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


def _parse_partial(text: str) -> tuple[Version, int]:
    """A version and how many of its numeric parts were given (a wildcard ends the count)."""
    from semver import Version

    if not isinstance(text, str):
        raise ValueError(f"not a version: {text!r}")
    body = text.strip().removeprefix("v")
    numbers = re.split(r"[-+]", body, maxsplit=1)[0]
    parts = numbers.split(".")
    given = next((i for i, part in enumerate(parts) if part in _WILDCARDS), len(parts))
    if given < len(parts):  # "3.x", "3.2.*", "*": only numbers or wildcards, at most three
        if body != numbers or len(parts) > 3:
            raise ValueError(f"not a version: {text!r}")
        if not all(part.isdigit() or part in _WILDCARDS for part in parts[given:]):
            raise ValueError(f"not a version: {text!r}")
        body = ".".join(parts[:given])
        if not body:
            return Version(0), 0
    return Version.parse(body, optional_minor_and_patch=True), given


def parse_version(text: str) -> Version:
    """Parse ``1``, ``1.2``, ``v1.2.3``, ``1.2.3-beta.1+build``; raise ``ValueError`` otherwise."""
    version, given = _parse_partial(text)
    if given == 0:
        raise ValueError(f"not a version: {text!r}")
    return version


def compare_versions(left: str, right: str) -> int:
    """-1, 0 or 1 by SemVer precedence; raises ``ValueError`` when either side is not a version."""
    return parse_version(left).compare(parse_version(right))


def _bump(version: Version, given: int) -> Version:
    """The first version above every version that starts with the ``given`` leading parts."""
    if given <= 1:
        return version.bump_major()
    if given == 2:
        return version.bump_minor()
    return version.bump_patch()


Constraint = tuple[str, "Version"]


def _comparator(token: str) -> list[Constraint]:
    match = _OPERATOR.match(token.strip())
    assert match is not None  # the pattern accepts any string
    op, text = match.group(1) or "", match.group(2)
    if not text or text in _WILDCARDS:
        return []
    base, given = _parse_partial(text)
    if given == 0:
        return []
    upper = _bump(base, given)
    if op in ("", "=", "=="):
        return [("=", base)] if given == 3 else [(">=", base), ("<", upper)]
    if op == "^":
        if base.major > 0 or given == 1:
            upper = _bump(base, 1)
        elif base.minor > 0 or given == 2:
            upper = _bump(base, 2)
        else:
            upper = _bump(base, 3)
        return [(">=", base), ("<", upper)]
    if op == "~":
        return [(">=", base), ("<", _bump(base, 1 if given == 1 else 2))]
    if op == ">":
        return [(">", base)] if given == 3 else [(">=", upper)]
    if op == "<=":
        return [("<=", base)] if given == 3 else [("<", upper)]
    return [(op, base)]  # ">=" and "<" mean the same for partial versions


def parse_range(text: str) -> list[list[Constraint]]:
    """``">=2.0.0"``, ``"^2.1"``, ``"~2.0"``, ``"1.2 - 2.3"``, ``">=2, <3"``, ``"^1 || ^2"`` ..."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty version range")
    alternatives: list[list[Constraint]] = []
    for alternative in text.split("||"):
        hyphen = _HYPHEN.match(alternative)
        if hyphen:
            low, _ = _parse_partial(hyphen.group(1))
            high, given = _parse_partial(hyphen.group(2))
            top: Constraint = ("<=", high) if given == 3 else ("<", _bump(high, given))
            alternatives.append([(">=", low), top])
            continue
        normalised = re.sub(r"(>=|<=|==|>|<|=|\^|~)\s+", r"\1", alternative.replace(",", " "))
        constraints: list[Constraint] = []
        for token in normalised.split():
            constraints.extend(_comparator(token))
        alternatives.append(constraints)
    return alternatives


def satisfies(version: str, range_text: str) -> bool:
    """True when ``version`` lies in ``range_text``; raises ``ValueError`` on a malformed range."""
    target = parse_version(version)
    return any(
        all(_HOLDS[op](target, bound) for op, bound in alternative)
        for alternative in parse_range(range_text)
    )


def _invalid(field: str, value: Any) -> PlugvisorError:
    return PlugvisorError(
        ErrorCode.PLUGIN_INSTALL_FAILED,
        f"manifest.json: '{field}' is not a valid version or range: {str(value)[:80]!r}",
        context={"field": field},
    )


def _floors(manifest: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every declared minimum core version, with the field it came from."""
    found: list[tuple[str, Any]] = []
    if manifest.get("min_ledmatrix_version"):
        found.append(("min_ledmatrix_version", manifest["min_ledmatrix_version"]))
    requires = manifest.get("requires")
    if isinstance(requires, dict) and requires.get("min_ledmatrix_version"):
        found.append(("requires.min_ledmatrix_version", requires["min_ledmatrix_version"]))
    for entry in manifest.get("versions") or []:
        if isinstance(entry, dict) and entry.get("version") == manifest.get("version"):
            for key in ("ledmatrix_min_version", "ledmatrix_min"):
                if entry.get(key):
                    found.append((f"versions[].{key}", entry[key]))
    return found


def check_compatibility(manifest: dict[str, Any], core_version: str) -> None:
    """Raise ``PLUGIN_INCOMPATIBLE`` when the manifest rules out ``core_version``.

    Reads ``compatible_versions`` (any range may match), ``min_ledmatrix_version`` (also under
    ``requires``), ``max_ledmatrix_version`` and the ``versions[]`` entry of the manifest's version.
    """
    plugin = f"Plugin '{manifest.get('id')}' {manifest.get('version', '')}".rstrip()
    core = parse_version(core_version)

    def refuse(requirement: str) -> PlugvisorError:
        return PlugvisorError(
            ErrorCode.PLUGIN_INCOMPATIBLE,
            f"{plugin} requires LEDMatrix {requirement}; this device provides {core_version}",
            context={"core_version": core_version, "requires": requirement},
        )

    ranges = manifest.get("compatible_versions")
    if isinstance(ranges, str):
        ranges = [ranges]
    if ranges:
        if not isinstance(ranges, list):
            raise _invalid("compatible_versions", ranges)
        try:
            ok = any(satisfies(core_version, text) for text in ranges)
        except (ValueError, TypeError):
            raise _invalid("compatible_versions", ranges) from None
        if not ok:
            raise refuse(" or ".join(str(r) for r in ranges))
    for field, value in _floors(manifest):
        try:
            floor = parse_version(str(value))
        except ValueError:
            raise _invalid(field, value) from None
        if core < floor:
            raise refuse(f">={value}")
    ceiling_text = manifest.get("max_ledmatrix_version")
    if ceiling_text:
        try:
            ceiling = parse_version(str(ceiling_text))
        except ValueError:
            raise _invalid("max_ledmatrix_version", ceiling_text) from None
        if core > ceiling:
            raise refuse(f"<={ceiling_text}")
