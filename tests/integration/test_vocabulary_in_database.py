"""The migrated database keeps each closed word list to its billing_core enum, word for word.

`alembic check` compares tables, columns and indexes, not what a CHECK allows, so a word
added to an enum without a migration (or a migration that changed a list the enum did
not) would only show when a row is refused. This reads the CHECKs PostgreSQL enforces.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.unit.test_vocabulary import VOCABULARY_CHECKS


@pytest.mark.parametrize(("table", "name", "vocabulary"),
                         [(table, name, vocabulary) for table, name, _, vocabulary
                          in VOCABULARY_CHECKS],
                         ids=[f"{table}.{name}" for table, name, *_ in VOCABULARY_CHECKS])
def test_the_database_allows_exactly_the_words_of_the_enum(session, table, name, vocabulary):
    definition = session.execute(text("""
        SELECT pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = CAST(:table AS regclass) AND conname = :name AND contype = 'c'
    """), {"table": table, "name": f"ck_{table}_{name}"}).scalar_one()
    # "CHECK ((status = ANY (ARRAY['draft'::text, 'finalized'::text, ...])))"
    assert re.findall(r"'([^']*)'::text", definition) == [word.value for word in vocabulary]
