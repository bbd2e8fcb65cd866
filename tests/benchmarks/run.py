"""Runs every benchmark in this folder, one process each (benchmarks are not tests).

Run: `.venv/bin/python -m tests.benchmarks.run [NAME ...]` after `source .ci/devices.sh`; NAME is a
module here without the `bench_` prefix (e.g. `audio`). Each benchmark prints its own table and writes
its JSON to tests/benchmarks/out/; this prints which ones failed. Options (words starting with `--`) go to
every benchmark run, so give them with a NAME, e.g. `run peer --quick`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    options = [w for w in words if w.startswith("--")]
    wanted = {w for w in words if not w.startswith("--")}
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if wanted:
        names = [n for n in names if n.removeprefix("bench_") in wanted or n in wanted]
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        command = [sys.executable, "-m", f"tests.benchmarks.{name}", *options]
        done = subprocess.run(command, cwd=HERE.parent.parent, check=False)
        if done.returncode != 0:
            failed.append(name)
    print(f"== {len(names) - len(failed)} of {len(names)} benchmarks ran" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
