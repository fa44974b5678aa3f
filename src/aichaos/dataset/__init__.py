"""Golden datasets: cases with input, expected answers, context and tags."""

from aichaos.dataset._load import Case, load_dataset

__all__ = ["Case", "load_dataset"]
