"""Cost model: token prices → cost per 1k requests and projected monthly cost.

Cost of one request = input_tokens × input price + output_tokens × output price, prices in
USD per 1M tokens as providers publish them. Retries multiply cost: each logical request is
billed ``retry_amplification`` times on average (upstream calls per request, as the
integration layer measures it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from aichaos.errors import ConfigError
from aichaos.load._results import StepResult

#: date the default prices were taken from the providers' public price pages
DEFAULT_PRICES_DATE = "2025-06-01"


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Price of one model, USD per 1M tokens (standard tier, no caching or batch discount)."""

    input_per_mtok: float
    output_per_mtok: float

    def __post_init__(self) -> None:
        if self.input_per_mtok < 0 or self.output_per_mtok < 0:
            raise ConfigError(
                f"price: expected USD per 1M tokens >= 0, got {self.input_per_mtok!r} "
                f"input, {self.output_per_mtok!r} output"
            )


#: Standard list prices (USD per 1M input / output tokens) on :data:`DEFAULT_PRICES_DATE`.
#: Prices change; pass your own table (the experiment's) for anything that matters.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "claude-opus-4": ModelPrice(15.00, 75.00),
    "claude-sonnet-4": ModelPrice(3.00, 15.00),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00),
    "gemini-2.0-flash": ModelPrice(0.10, 0.40),
    "local": ModelPrice(0.0, 0.0),
}


def lookup_price(model: str, prices: Mapping[str, ModelPrice] | None = None) -> ModelPrice:
    """The price of ``model`` from ``prices`` (default :data:`DEFAULT_PRICES`).

    Raises:
        ConfigError: the model is not in the table (the message lists the known models).
    """
    table = DEFAULT_PRICES if prices is None else prices
    try:
        return table[model]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise ConfigError(f"pricing: no price for model {model!r}; known: {known}") from None


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Cost projection in USD.

    Attributes:
        model: priced model name.
        mean_input_tokens, mean_output_tokens: tokens per request used for the estimate.
        retry_amplification: billed calls per logical request (1.0 = no retries).
        cost_per_request_usd, cost_per_1k_requests_usd: including amplification.
        requests_per_day, days_per_month: declared traffic level.
        monthly_cost_usd: cost_per_request × requests_per_day × days_per_month.
    """

    model: str
    mean_input_tokens: float
    mean_output_tokens: float
    retry_amplification: float
    cost_per_request_usd: float
    cost_per_1k_requests_usd: float
    requests_per_day: float
    days_per_month: float
    monthly_cost_usd: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def estimate_cost(
    price: ModelPrice,
    *,
    mean_input_tokens: float,
    mean_output_tokens: float,
    requests_per_day: float = 0.0,
    retry_amplification: float = 1.0,
    days_per_month: float = 30.0,
    model: str = "",
) -> CostEstimate:
    """Cost per request, per 1k requests and per month.

    Args:
        price: the model's USD per 1M tokens.
        mean_input_tokens, mean_output_tokens: tokens per request (from usage when measured).
        requests_per_day: declared traffic level, requests/day.
        retry_amplification: billed upstream calls per logical request (>= 1 in practice).
        days_per_month: billing month length, days.
        model: name recorded in the estimate.

    Raises:
        ConfigError: a negative token count, traffic level or day count, or an
            amplification below 1.
    """
    if mean_input_tokens < 0 or mean_output_tokens < 0:
        raise ConfigError("cost: mean token counts must be >= 0")
    if requests_per_day < 0 or days_per_month < 0:
        raise ConfigError("cost: requests_per_day and days_per_month must be >= 0")
    if retry_amplification < 1:
        raise ConfigError(
            f"cost retry_amplification: expected >= 1 call per request, got {retry_amplification!r}"
        )
    per_request = retry_amplification * (
        mean_input_tokens * price.input_per_mtok + mean_output_tokens * price.output_per_mtok
    ) / 1e6
    return CostEstimate(
        model=model,
        mean_input_tokens=mean_input_tokens,
        mean_output_tokens=mean_output_tokens,
        retry_amplification=retry_amplification,
        cost_per_request_usd=per_request,
        cost_per_1k_requests_usd=per_request * 1000,
        requests_per_day=requests_per_day,
        days_per_month=days_per_month,
        monthly_cost_usd=per_request * requests_per_day * days_per_month,
    )


def estimate_step_cost(
    step: StepResult,
    price: ModelPrice,
    *,
    requests_per_day: float = 0.0,
    retry_amplification: float = 1.0,
    days_per_month: float = 30.0,
    model: str = "",
) -> CostEstimate:
    """:func:`estimate_cost` with mean tokens per completed request of a load step.

    Args:
        step: a :class:`aichaos.load.StepResult` (its token totals come from usage or a
            tokenizer; see its ``token_source``).

    Raises:
        ConfigError: the step completed no request, or as :func:`estimate_cost`.
    """
    if not step.completed:
        raise ConfigError("cost: the load step completed no request to take token counts from")
    return estimate_cost(
        price,
        mean_input_tokens=step.input_tokens / step.completed,
        mean_output_tokens=step.output_tokens / step.completed,
        requests_per_day=requests_per_day,
        retry_amplification=retry_amplification,
        days_per_month=days_per_month,
        model=model,
    )
