"""Plugin/core compatibility: a small semantic-version comparator and LEDMatrix-style ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from actors.errors import ErrorCode, PlugvisorError

# The LEDMatrix core version this supervisor stands in for; plugins declare ranges against it.
LEDMATRIX_CORE_VERSION = "3.2.0"

_VERSION = re.compile(
    r"^v?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*]))?(?:\.(?P<patch>\d+|[xX*]))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_OPERATOR = re.compile(r"^(>=|<=|==|>|<|=|\^|~)?\s*(.*)$")
_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """A semantic version; a pre-release sorts below its release (``1.0.0-rc.1 < 1.0.0``)."""

    major: int
    minor: int = 0
    patch: int = 0
    release: int = 1  # 0 for a pre-release, so it sorts first
    pre: tuple[tuple[int, int | str], ...] = ()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if not self.release:
            text += "-" + ".".join(str(part) for _, part in self.pre)
        return text


def _parse_partial(text: str) -> tuple[Version, int]:
    """A version and how many of its numeric parts were given (a wildcard ends the count)."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"not a version: {text!r}")
    numbers: list[int] = []
    for name in ("major", "minor", "patch"):
        part = match.group(name)
        if part is None or not part.isdigit():
            break
        numbers.append(int(part))
    given = len(numbers)
    numbers += [0] * (3 - given)
    pre_text = match.group("pre")
    pre: tuple[tuple[int, int | str], ...] = ()
    if pre_text:
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre_text.split("."))
    return Version(numbers[0], numbers[1], numbers[2], 0 if pre else 1, pre), given


def parse_version(text: str) -> Version:
    """Parse ``1``, ``1.2``, ``v1.2.3``, ``1.2.3-beta.1+build``; raise ``ValueError`` otherwise."""
    version, given = _parse_partial(text)
    if given == 0:
        raise ValueError(f"not a version: {text!r}")
    return version


def compare_versions(left: str, right: str) -> int:
    """-1, 0 or 1; raises ``ValueError`` when either side is not a version."""
    a, b = parse_version(left), parse_version(right)
    return (a > b) - (a < b)


def _bump(version: Version, given: int) -> Version:
    """The first version above every version that starts with the ``given`` leading parts."""
    if given <= 1:
        return Version(version.major + 1)
    if given == 2:
        return Version(version.major, version.minor + 1)
    return Version(version.major, version.minor, version.patch + 1)


Constraint = tuple[str, Version]


def _comparator(token: str) -> list[Constraint]:
    match = _OPERATOR.match(token.strip())
    assert match is not None  # the pattern accepts any string
    op, text = match.group(1) or "", match.group(2)
    if text in ("", "*", "x", "X"):
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


def _holds(version: Version, op: str, bound: Version) -> bool:
    return {
        "=": version == bound,
        ">=": version >= bound,
        ">": version > bound,
        "<=": version <= bound,
        "<": version < bound,
    }[op]


def satisfies(version: str, range_text: str) -> bool:
    """True when ``version`` lies in ``range_text``; raises ``ValueError`` on a malformed range."""
    target = parse_version(version)
    return any(
        all(_holds(target, op, bound) for op, bound in alternative)
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
