"""Scorers (exact, contains, regex, JSON Schema, semantic) and confidence intervals."""

from aichaos.scoring._base import Score, Scorer, build_scorer, expected_list, scorers
from aichaos.scoring._equivalence import Equivalence, answers_equivalent
from aichaos.scoring._judge import JudgeError, LLMJudge
from aichaos.scoring._pii import PiiMatch, find_pii, luhn_valid, mask_pii
from aichaos.scoring._planning import balanced_scores, cases_for_firm_grade, cases_to_decide
from aichaos.scoring._safety import (
    AbstentionScorer,
    Detection,
    GroundedScorer,
    InjectionScorer,
    LeakScorer,
    canary_found,
    detect_abstention,
    detect_hallucination,
    detect_injection,
    detect_leak,
)
from aichaos.scoring._semantic import SemanticScorer, embed, embedding_model, similarity
from aichaos.scoring._stats import Estimate, mean_ci, percentile, proportion_ci
from aichaos.scoring._text import (
    ContainsScorer,
    ExactScorer,
    JsonSchemaScorer,
    RegexScorer,
    normalize,
)
from aichaos.scoring._verdict import Verdict, case_score, case_scores, exact, rate_verdict

__all__ = [
    "AbstentionScorer",
    "ContainsScorer",
    "Detection",
    "Equivalence",
    "Estimate",
    "ExactScorer",
    "GroundedScorer",
    "InjectionScorer",
    "JsonSchemaScorer",
    "JudgeError",
    "LLMJudge",
    "LeakScorer",
    "PiiMatch",
    "RegexScorer",
    "Score",
    "Scorer",
    "SemanticScorer",
    "Verdict",
    "answers_equivalent",
    "balanced_scores",
    "build_scorer",
    "canary_found",
    "case_score",
    "case_scores",
    "cases_for_firm_grade",
    "cases_to_decide",
    "detect_abstention",
    "detect_hallucination",
    "detect_injection",
    "detect_leak",
    "embed",
    "embedding_model",
    "exact",
    "expected_list",
    "find_pii",
    "luhn_valid",
    "mask_pii",
    "mean_ci",
    "normalize",
    "percentile",
    "proportion_ci",
    "rate_verdict",
    "scorers",
    "similarity",
]
