"""A longer fuzzing run than the suite's: schemathesis against run.py from its own document.

The same harness as tests/web/test_fuzz.py (tests/web/fuzz_run.py): a local registry, no
network, the same checks; here more cases per operation and, unless ``--seed`` is given, new
ones each run. Bounded by ``--examples`` per operation and mode (no shrinking). Prints
``name=value`` lines, then each failure found; exits 1 if any check failed, the server is not
healthy afterwards, or it wrote outside its data dir.
Usage: ``python bench/fuzz.py [--examples 200] [--seed N] [--positive-only]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemathesis import GenerationMode

from tests.web.fuzz_run import fuzz, healthy, install_example_plugin, snapshot, start_server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None, help="repeat a run's cases")
    parser.add_argument("--positive-only", action="store_true")
    args = parser.parse_args()
    modes = (GenerationMode.POSITIVE,)
    if not args.positive_only:
        modes += (GenerationMode.NEGATIVE,)
    with tempfile.TemporaryDirectory(prefix="plugvisor-fuzz-") as folder:
        root = Path(folder)
        server = start_server(root)
        before = snapshot(root)
        try:
            install_example_plugin(server)
            report = fuzz(server, args.examples, modes, seed=args.seed)
            live, health_status, health = healthy(server)
            after = snapshot(root)
            outside = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
        finally:
            exit_code = server.stop()
    print(f"operations={report.operations}")
    print(f"requests={report.requests}")
    print(f"seconds={report.seconds:.1f}")
    print(f"requests_per_s={report.requests / max(report.seconds, 1e-9):.1f}")
    for status, count in sorted(report.statuses.items()):
        print(f"status_{status}={count}")
    print(f"failures={len(report.failures)}")
    print(f"healthz={live} supervisor_health={health_status} health={health}")
    print(f"written_outside_data_dir={outside}")
    print(f"server_exit_code={exit_code}")
    for failure in report.failures:
        print("\n--- " + failure)
    ok = not report.failures and (live, health_status, health) == (200, 200, "ok")
    return 0 if ok and not outside and exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
