"""Layer 6, Scalability and cost: probe suite (registered as a suite when implemented)."""
