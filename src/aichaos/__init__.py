"""aichaos: chaos engineering and production-readiness scoring for AI systems."""

__version__ = "0.1.0"
