"""Calibrate the hardened app's context budget: how often the answer survives sentence focus.

For each golden question without an order number (``aichaos/demo/datasets/support.yaml``),
retrieve the top-3 passages as the app does, focus them with
:meth:`KnowledgeBase.focus` under several budgets (characters), and count the questions whose
expected answer fragment is still in the context, beside the mean context size. The app's
default (``AppSettings.context_budget_chars``) is the smallest budget that keeps the answer for
nearly every question whose full context has it.

    .venv/bin/python benchmarks/calibrate_context_budget.py [--budgets 200 280 360 480]
"""

from __future__ import annotations

import argparse
import statistics

import yaml

from aichaos.demo.app._retrieval import KB_DIR, KnowledgeBase
from aichaos.demo.app._settings import AppSettings

DATASET = KB_DIR.parent / "datasets" / "support.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[200, 280, 360, 480])
    parser.add_argument("--top-k", type=int, default=AppSettings.top_k)
    args = parser.parse_args()
    kb = KnowledgeBase.load()
    cases = [c for c in yaml.safe_load(DATASET.read_text())["cases"]
             if "order-status" not in (c.get("tags") or [])]

    def has_answer(text: str, expected: list[str]) -> bool:
        return any(e.lower() in text.lower() for e in expected)

    full_sizes: list[int] = []
    answerable = []
    for case in cases:
        hits = [p for p, _ in kb.search(case["input"], args.top_k)]
        full = "\n".join(p.quoted for p in hits)
        full_sizes.append(len(full))
        if has_answer(full, case["expected"]):
            answerable.append((case, hits))
    print(f"{len(cases)} golden questions without an order number; the expected answer is in "
          f"the full top-{args.top_k} context for {len(answerable)} "
          f"(mean {statistics.mean(full_sizes):.0f} characters)")
    for budget in args.budgets:
        kept, sizes = 0, []
        for case, hits in answerable:
            context = "\n".join(kb.focus(case["input"], hits, budget))
            sizes.append(len(context))
            kept += has_answer(context, case["expected"])
        print(f"  budget {budget:4d} chars: answer kept {kept}/{len(answerable)} "
              f"({kept / len(answerable):.0%}), mean context {statistics.mean(sizes):.0f} chars")


if __name__ == "__main__":
    main()
