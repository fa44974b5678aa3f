"""Fit the detectors' thresholds on the CALIBRATION sets; the only writer of thresholds.json.

Reads ``tests/data/detectors/calibration/<kind>.yaml`` (never the held-out sets), sweeps each
threshold of ``aichaos.scoring._fit.GRIDS`` (best F1, then Youden's J), writes
``src/aichaos/scoring/thresholds.json`` and prints the in-sample figures of every detector.

    python benchmarks/fit_detectors.py            # fit and write
    python benchmarks/fit_detectors.py --check    # fit, compare with the shipped file (exit 1)
    python benchmarks/fit_detectors.py --errors   # also list misclassified calibration items
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aichaos._thresholds import THRESHOLDS_PATH
from aichaos.scoring._fit import KINDS, confusion, fit, load_items, predict

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ROOT / "tests" / "data" / "detectors" / "calibration"


def render(values: dict[str, float]) -> str:
    doc = {"fitted_by": "benchmarks/fit_detectors.py",
           "data": "tests/data/detectors/calibration/*.yaml (calibration split only)",
           "rule": "per threshold: grid sweep, best F1 then Youden's J",
           "thresholds": values}
    return json.dumps(doc, indent=2) + "\n"


def main(argv: list[str]) -> int:
    values = fit(CALIBRATION, progress=print)
    if "--check" in argv:
        same = THRESHOLDS_PATH.read_text(encoding="utf-8") == render(values)
        print("shipped thresholds reproduced" if same else "shipped thresholds DIFFER")
        return 0 if same else 1
    THRESHOLDS_PATH.write_text(render(values), encoding="utf-8")
    print(f"wrote {THRESHOLDS_PATH.relative_to(ROOT)}")
    print("in-sample (calibration) figures:")
    for kind in KINDS:
        items = load_items(CALIBRATION / f"{kind}.yaml")
        fired = [predict(kind, i, values) for i in items]
        c = confusion([bool(i["label"]) for i in items], fired)
        print(f"  {kind:<14} n={len(items):>3} precision {c['precision']:.3f} recall "
              f"{c['recall']:.3f} (tp {c['tp']} fp {c['fp']} fn {c['fn']} tn {c['tn']})")
        if "--errors" in argv:
            for i, f in zip(items, fired, strict=True):
                if f != i["label"]:
                    print(f"    {'FP' if f else 'FN'} {i['id']}: {str(i['response'])[:110]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
