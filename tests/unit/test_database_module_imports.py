"""db/database.py is the bottom of db/: engine, migrations, the embedded server. It imports
no other db module, so nothing it loads can import it back (the demo data once did:
database -> demo_data -> users -> database)."""

from __future__ import annotations

import ast
from pathlib import Path

import db.database


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_the_database_module_imports_no_other_db_module_not_even_lazily():
    imported = _imported_modules(Path(db.database.__file__))
    assert sorted(m for m in imported if m == "db" or m.startswith("db.")) == []
