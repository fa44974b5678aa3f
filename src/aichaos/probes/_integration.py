"""Layer 3, Integration reliability: probe suite (registered as a suite when implemented)."""
