"""Layer 5, Observability: probe suite (registered as a suite when implemented)."""
