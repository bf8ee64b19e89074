"""What every `python -m db.<tool>` command does around its own work.

Its arguments name a subcommand (`create`, `list`, `run`...). The engine (`DATABASE_URL` or
the embedded server), the schema migrated to head, a session maker for the work; a refusal
(`BillingError`) printed as its message alone on standard error with exit status 2, never a
stack trace; the engine closed at the end.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from billing_core.errors import BillingError


def command_parser(tool: str, description: str
                   ) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[Any]]:
    """The parser of `python -m db.<tool>`, and its subcommands to add to."""
    parser = argparse.ArgumentParser(prog=f"python -m db.{tool}", description=description)
    return parser, parser.add_subparsers(dest="command", required=True)


def run_with_database(work: Callable[[sessionmaker[Session]], int | None]) -> int:
    """Run `work(sessions)`; its exit status, 0 when it returns None, 2 when refused."""
    from db.database import get_engine, make_sessionmaker, migrate_to_head

    engine = get_engine()
    try:
        migrate_to_head(engine)
        return work(make_sessionmaker(engine)) or 0
    except BillingError as refused:
        print(refused, file=sys.stderr)
        return 2
    finally:
        engine.dispose()
