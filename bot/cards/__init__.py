"""Channel-agnostic cards: one model, rendered by each surface (web now; Slack and Teams in their modules)."""
