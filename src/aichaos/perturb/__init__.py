"""Input perturbations (readiness layer 2): messy real-world input at severities 1-3.

Every perturbation is a registered plugin (``perturbations``), deterministic under a seed,
and records how it changed the input (``Perturbed.lineage``)::

    from aichaos.perturb import build_perturbations

    for p in build_perturbations(["typo_keyboard", "empty"], severities=[1, 3], seed=42):
        out = p.apply("How do I reset my password?")
        print(out.name, out.severity, repr(out.text), out.expects_clarification)

See ``docs/perturbations.md`` for the catalogue.
"""

from aichaos.perturb import _chars, _formats, _pii, _unicode, _volume, _words
from aichaos.perturb._base import (
    EXPECTS_CLARIFICATION,
    SEVERITIES,
    TRANSPORT_SENSITIVE,
    Edit,
    Perturbation,
    Perturbed,
    apply_edits,
    build_perturbations,
    derive_seed,
    perturbations,
    register,
)
from aichaos.perturb._clarify import is_clarification, is_refusal
from aichaos.perturb._unicode import has_lone_surrogates, to_transport

del _chars, _formats, _pii, _unicode, _volume, _words  # imported for registration only

__all__ = [
    "EXPECTS_CLARIFICATION",
    "SEVERITIES",
    "TRANSPORT_SENSITIVE",
    "Edit",
    "Perturbation",
    "Perturbed",
    "apply_edits",
    "build_perturbations",
    "derive_seed",
    "has_lone_surrogates",
    "is_clarification",
    "is_refusal",
    "perturbations",
    "register",
    "to_transport",
]
