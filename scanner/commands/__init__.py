"""Click command groups, one module per group; `scanner.cli` wires them together lazily."""
