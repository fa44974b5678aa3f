"""How long `aichaos demo` takes, and how many of its checks it decides, both profiles.

DESIGN.md: `aichaos demo`, both profiles, on 2 cores: <= 5 minutes; issue 12 item 8: with
adaptive sampling (the bundled experiment sets ``runtime.confidence: decided`` and a seconds
budget per layer) both profiles' full run decides >= 80 % of their checks in that time.
Each variant runs once, in a fresh results directory, exactly as a user runs it. Printed per
variant: wall seconds against the target and the machine's load average (other work on the
same 2 cores slows the local model); per profile: the run's duration, decided checks / all
checks (a check is decided when its interval excludes its threshold or it is an exact
count; "not computed" when its layer gives no interval yet), firm grades, and each layer's
n (independent cases) and 0-100 interval.

    .venv/bin/python benchmarks/demo_duration.py [--only quick|full] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGETS_S = {"full": 300.0, "quick": 90.0}
DECIDED_TARGET = 0.80


def run(variant: str, keep: Path | None) -> tuple[float, int, list[tuple[str, dict[str, Any],
                                                                   dict[str, Any]]]]:
    args = [sys.executable, "-m", "aichaos", "demo"] + (["--quick"] if variant == "quick" else [])
    with tempfile.TemporaryDirectory(prefix=f"aichaos-demo-{variant}-") as tmp:
        work = keep / variant if keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with open(work / "demo.log", "w") as out:
            proc = subprocess.run(args, cwd=work, stdout=out, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
        runs = []
        for profile in ("naive", "hardened"):
            for run_dir in sorted((work / "aichaos-results" / profile).glob("2*")):
                report = json.loads((run_dir / "report.json").read_text())
                journal = json.loads((run_dir / "journal.json").read_text())
                runs.append((profile, report, journal))
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    return elapsed, proc.returncode, runs


def describe(profile: str, report: dict[str, Any], journal: dict[str, Any]) -> float:
    """Print one profile's verdict figures; returns its decided share."""
    layers = report["scorecard"]["layers"]
    checks = [c for lay in layers for c in lay["checks"] if not c.get("not_measured")]
    decided = sum(1 for c in checks if c.get("decided") is True)
    still_open = [c["name"] for c in checks if c.get("decided") is False]
    uncomputed = [c["name"] for c in checks if c.get("decided") is None]
    measured = [lay for lay in layers if lay["measured"]]
    firm = [lay for lay in measured if lay.get("grade_range") and "–" not in lay["grade_range"]]
    share = decided / len(checks) if checks else 0.0
    print(f"  {profile}: duration {journal.get('duration', 0):.0f} s, decided "
          f"{decided}/{len(checks)} checks = {share:.0%} (target >= {DECIDED_TARGET:.0%}), "
          f"firm grades {len(firm)}/{len(measured)} layers")
    if still_open:
        print(f"    open: {', '.join(still_open)}")
    if uncomputed:
        print(f"    no interval (decided not computed): {', '.join(uncomputed)}")
    for lay in measured:
        iv = lay.get("interval")
        sampling = lay.get("details", {}).get("sampling", {})
        stop = f"; sampling {sampling['cases_sent']}/{sampling['cases_planned']} cases, " \
               f"{sampling['stopped']}" if sampling else ""
        span = (f"[{iv['low']:.1f}, {iv['high']:.1f}] n={iv.get('n')}" if iv else "no interval")
        print(f"    layer {lay['layer']} {lay['key']:17} score {lay['score']:5.1f} "
              f"grade {lay.get('grade_range') or lay['grade']:4} {span}{stop}")
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(TARGETS_S))
    parser.add_argument("--keep", type=Path, help="run in DIR/<variant> and keep the results")
    opts = parser.parse_args()
    variants = [opts.only] if opts.only else ["quick", "full"]
    for variant in variants:
        before = os.getloadavg()
        elapsed, code, runs = run(variant, opts.keep)
        target = TARGETS_S[variant]
        status = "ok" if code == 0 and elapsed <= target else ("FAILED" if code else "over")
        print(f"{variant}: {elapsed:.1f} s (target {target:.0f} s, ratio {elapsed / target:.2f}), "
              f"load average before {before[0]:.1f} {before[1]:.1f} {before[2]:.1f}, "
              f"exit {code} {status}")
        for profile, report, journal in runs:
            describe(profile, report, journal)


if __name__ == "__main__":
    main()
