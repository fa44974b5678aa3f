"""Personal data and secrets stay out of the journal and the reports, as out of the store.

Failing cases carry the input that was sent and the answer that came back, which may hold a
card number the dataset planted or an API key the system under test echoed. Before the run's
scorecard is published (journal, report.json, report.html, report.md, junit.xml, terminal),
their text is masked like the store's rows: configured secrets always become ``<SECRET>``,
personal data (``mask_pii``'s shapes) unless the user opted out (``store.mask_pii: false`` /
``--no-mask-pii``).
"""

from __future__ import annotations

from aichaos.config import Experiment
from aichaos.results import Scorecard
from aichaos.scoring import mask_pii


def secrets_of(experiment: Experiment) -> list[str]:
    """Literal secret values configured in the experiment (masked everywhere they appear)."""
    key = getattr(experiment.target, "api_key", None)
    return [key.get_secret_value()] if key is not None else []


def mask_text(text: str, secrets: list[str], *, pii: bool) -> str:
    """``text`` with every secret replaced by ``<SECRET>`` and, when ``pii``, personal data
    masked (``aichaos.scoring.mask_pii``)."""
    if pii:
        return mask_pii(text, secrets)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<SECRET>")
    return text


def mask_failing_cases(scorecard: Scorecard, secrets: list[str], *, pii: bool) -> None:
    """Mask the input, output and reason of every failing case of ``scorecard``, in place."""
    for layer in scorecard.layers.values():
        for case in layer.failing:
            case.input = mask_text(case.input, secrets, pii=pii)
            case.output = mask_text(case.output, secrets, pii=pii)
            case.reason = mask_text(case.reason, secrets, pii=pii)
