"""The graph's schema as data: node and relationship types, vocabularies and rules (YAML).

``SCHEMA`` is loaded and checked when this package is imported.
"""

from graph_schema.loader import InvalidSchema, Ruleset, Schema, Term, load_rules, load_schema

SCHEMA: Schema = load_schema()

__all__ = ["SCHEMA", "InvalidSchema", "Ruleset", "Schema", "Term", "load_rules", "load_schema"]
