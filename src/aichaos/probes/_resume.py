"""Stored observations a resumed run (``aichaos run --resume RUN``) uses instead of re-sending.

A case is matched by ``(layer, suite, case_id, variant)``; a key seen *n* times in the stored
run is reused *n* times, in order, so repeats and re-plans line up one to one. Only layers
whose verdict rests on the answers alone are resumed case by case (:data:`RESUMABLE_LAYERS`);
the others measure something outside the answers during their own window (proxy counters
under a toxic, spans at the receiver, a load step's throughput) and are re-run whole.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable

from aichaos._events import CaseResult

#: steady state (0), capability (1), input resilience (2) and safety (4): a stored answer
#: judges the same as a fresh one. Integration (3), observability (5) and scale (6) are not.
RESUMABLE_LAYERS: frozenset[int] = frozenset({0, 1, 2, 4})

Key = tuple[int, str, str, str]


class StoredCases:
    """A pool of stored :class:`CaseResult` objects, taken once each by key."""

    def __init__(self, results: Iterable[CaseResult] = ()) -> None:
        self.taken = 0  # results handed out so far
        self._pool: dict[Key, deque[CaseResult]] = defaultdict(deque)
        for result in results:
            self._pool[(result.layer, result.suite, result.case_id, result.variant)].append(
                result)

    def take(self, layer: int, suite: str, case_id: str, variant: str) -> CaseResult | None:
        """The next stored result for this key (removed from the pool), or None."""
        queue = self._pool.get((layer, suite, case_id, variant))
        if not queue:
            return None
        self.taken += 1
        return queue.popleft()

    def __len__(self) -> int:
        return sum(len(q) for q in self._pool.values())
