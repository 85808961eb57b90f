"""The guide reader under the name runbooks/coverage.py imports it by; see `sections`."""

from runbooks.importer.sections import Block, Inline, Section, parse, slugify

__all__ = ["Block", "Inline", "Section", "parse", "slugify"]
