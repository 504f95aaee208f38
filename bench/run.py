"""Run every ``bench/bench_*.py`` script and pass its JSON lines through.

Each benchmark script prints one JSON object per line with the keys
``metric``, ``value`` and ``unit``. A script that fails is reported on stderr
and makes this runner exit non-zero, so a broken benchmark is never silent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for script in sorted(here.glob("bench_*.py")):
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=False
        )
        sys.stdout.write(proc.stdout)
        sys.stdout.flush()
        if proc.returncode != 0:
            failed.append(script.name)
            sys.stderr.write(f"{script.name} failed:\n{proc.stderr}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
