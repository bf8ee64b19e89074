"""Ledgerline persistence: PostgreSQL schema, migrations, operations and read queries."""
