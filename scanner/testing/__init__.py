"""Builders of fake facts, flows and results for tests (shipped so users' rule packs can use them)."""
