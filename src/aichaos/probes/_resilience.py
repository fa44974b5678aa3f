"""Layer 2, Input resilience: probe suite (registered as a suite when implemented)."""
