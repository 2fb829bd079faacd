"""Phrase files, one per language (see en.toml)."""
