"""Renderers: turn a result (facts + findings) into HTML, JSON, SARIF or PDF."""
