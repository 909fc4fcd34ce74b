"""Rule engine: rule-pack schema, loader, selectors over facts, findings."""
