"""How long `aichaos demo` takes, both profiles, full and --quick, against its targets.

DESIGN.md: `aichaos demo`, both profiles, on 2 cores: <= 5 minutes; issue 8: `--quick` about a
minute. Each variant runs once, in a fresh results directory, exactly as a user runs it; the
machine's load average is printed beside each figure because other work on the same 2 cores
slows the local model.

    .venv/bin/python benchmarks/demo_duration.py [--only quick|full] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS_S = {"full": 300.0, "quick": 90.0}


def run(variant: str, keep: Path | None) -> tuple[float, int]:
    args = [sys.executable, "-m", "aichaos", "demo"] + (["--quick"] if variant == "quick" else [])
    with tempfile.TemporaryDirectory(prefix=f"aichaos-demo-{variant}-") as tmp:
        work = keep / variant if keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with open(work / "demo.log", "w") as out:
            proc = subprocess.run(args, cwd=work, stdout=out, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    return elapsed, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(TARGETS_S))
    parser.add_argument("--keep", type=Path, help="run in DIR/<variant> and keep the results")
    opts = parser.parse_args()
    variants = [opts.only] if opts.only else ["quick", "full"]
    print(f"{'variant':8} {'seconds':>8} {'target':>7} {'ratio':>6}  load average (1, 5, 15 min)")
    for variant in variants:
        before = os.getloadavg()
        elapsed, code = run(variant, opts.keep)
        target = TARGETS_S[variant]
        status = "ok" if code == 0 and elapsed <= target else ("FAILED" if code else "over")
        print(f"{variant:8} {elapsed:8.1f} {target:7.0f} {elapsed / target:6.2f}  "
              f"{before[0]:.1f} {before[1]:.1f} {before[2]:.1f}  exit {code} {status}")


if __name__ == "__main__":
    main()
