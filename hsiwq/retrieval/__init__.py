"""Water-quality retrieval: published algorithms and per-region models."""
