"""Adaptive sampling settings: how sure a layer must be before it stops, and what it may spend.

``runtime.confidence``:

* ``fixed`` (default): every planned case is sent, in the dataset's order, as before.
* ``decided``: a layer draws its cases in a seeded order, a few at a time, and stops as soon
  as every rate check it declares is decided (its anytime-valid interval excludes the
  threshold), or when its budget is spent; a check still open then is reported open.

A :class:`Budget` bounds one layer (``runtime.budget`` for every layer, a layer's own
``budget`` overriding it); ``runtime.max_requests`` is a hard cap on the requests the whole
run sends through the case sender (steady state and layers 1-5): nothing is sent past it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aichaos.config._base import Strict

Confidence = Literal["decided", "fixed"]


class Budget(Strict):
    """What one layer may spend while it samples (any field left out is unbounded).

    ``seconds`` is checked between batches, and a batch holds no more cases than the seconds
    left allow at the pace so far, so a layer overruns it by about one case at most;
    ``requests`` is never exceeded. ``cost_usd`` prices tokens with ``runtime.price_model``
    (or ``layers.scale.price_model``) through the layer-6 cost model.
    """

    requests: int | None = Field(None, ge=1, description="requests the layer may send")
    seconds: float | None = Field(None, gt=0, description="wall-clock seconds for the layer")
    tokens: int | None = Field(None, ge=1, description="input + output tokens (usage, else "
                               "characters / 4)")
    cost_usd: float | None = Field(None, gt=0, description="USD, tokens x the declared price")

    def merged(self, override: Budget | None) -> Budget:
        """This budget with every field ``override`` sets replaced."""
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_unset=True))
