"""``reconcile/ledger.json``: what the reconciler must remember across restarts (its only file).

The reinstall attempts per plugin (so a plugin that will not come back is not reinstalled for
ever) and the interrupted operations already reported. Blocking; called from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from actors.damage import Damage, unusable_file
from actors.fsio import Syncer, atomic_write, dumps
from actors.plugin_ids import is_valid_plugin_id

LEDGER_FILE = "ledger.json"
LOST_WITH_LEDGER = (
    "the reinstall attempts counted per plugin (each missing plugin gets its full budget again) "
    "and which interrupted operations were already reported (they are reported once more)"
)


@dataclass(slots=True)
class Ledger:
    attempts: dict[str, int] = field(default_factory=dict)
    reported: list[str] = field(default_factory=list)  # interrupted operation ids

    def to_dict(self) -> dict[str, Any]:
        return {"attempts": dict(sorted(self.attempts.items())), "reported": list(self.reported)}


class LedgerFile:
    def __init__(self, folder: Path, syncer: Syncer | None = None, damage: Damage | None = None):
        self.path = folder / LEDGER_FILE
        self._syncer = syncer
        self._damage = damage or Damage(folder.parent)
        self.on_disk: dict[str, Any] | None = None  # what the file holds (None: no file)

    def load(self) -> Ledger:
        """The ledger on disk; a damaged one is set aside (reported) and an empty one used."""
        self.on_disk = None
        why = unusable_file(self.path)
        if why is None:
            try:
                ledger = _parse(orjson.loads(self.path.read_bytes()))
            except FileNotFoundError:
                return Ledger()
            except OSError as exc:
                why = f"cannot be read ({exc.strerror})"
            except (orjson.JSONDecodeError, ValueError) as exc:
                why = f"is not a valid ledger ({exc})"
            else:
                self.on_disk = ledger.to_dict()
                return ledger
        self._damage.set_aside(self.path, why=why, lost=LOST_WITH_LEDGER)
        return Ledger()

    def save(self, ledger: Ledger) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        content = ledger.to_dict()
        atomic_write(self.path, dumps(content), syncer=self._syncer)
        self.on_disk = content


def _parse(data: Any) -> Ledger:
    if not isinstance(data, dict):
        raise ValueError("not an object")
    attempts, reported = data.get("attempts", {}), data.get("reported", [])
    if not isinstance(attempts, dict) or not isinstance(reported, list):
        raise ValueError("'attempts' must be an object and 'reported' a list")
    ledger = Ledger()
    for pid, count in attempts.items():
        if not is_valid_plugin_id(pid) or type(count) is not int or count < 0:
            raise ValueError(f"bad attempt count for {str(pid)[:64]!r}")
        ledger.attempts[pid] = count
    ledger.reported = [str(op_id)[:64] for op_id in reported if isinstance(op_id, str)]
    return ledger
