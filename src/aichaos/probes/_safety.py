"""Layer 4, Safety and governance: probe suite (registered as a suite when implemented)."""
