"""`python -m db.usage import FILE`: the platform's jobs send a usage file (docs/usage-events.md).

The file (CSV or JSON Lines) is imported in one transaction, all or nothing, by
`db.usage_events.import_usage_path`. Exit status: 0 imported (the counts are
printed: new, duplicate, conflict, late, drafts re-priced), 2 refused (every bad
line is printed, nothing was stored). The database is `DATABASE_URL`'s, else the
embedded one, migrated first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from billing_core.access import Actor, Role
from billing_core.errors import BillingError
from db.usage_events import UsageImportResult, import_usage_path


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy.orm import Session

    from db.database import database_url, make_engine, migrate_to_head

    parser = argparse.ArgumentParser(prog="python -m db.usage",
                                     description="Usage events (see docs/usage-events.md).")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("import", help="import a CSV or JSON Lines file of usage events")
    run.add_argument("file", type=Path, help="the file (.csv, .jsonl)")
    run.add_argument("--actor", default="usage-import",
                     help="who the audit log names, acting as finance (default: usage-import)")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"file: {args.file} is not a file", file=sys.stderr)
        return 2

    engine = make_engine(database_url())
    try:
        migrate_to_head(engine)
        try:
            with Session(engine) as session, session.begin():
                result = import_usage_path(session, args.file,
                                           actor=Actor(args.actor, Role.FINANCE))
        except BillingError as refused:
            print(refused, file=sys.stderr)
            return 2
        print(summary(result))
        return 0
    finally:
        engine.dispose()


def summary(result: UsageImportResult) -> str:
    """One line of counts, as the command prints it and the Usage screen shows it."""
    counts = result.counts
    return (f"Usage import #{result.import_id}: {counts.received:,} events received, "
            f"{counts.new:,} new ({counts.late:,} late), {counts.duplicate:,} duplicates, "
            f"{counts.conflict:,} conflicts; {result.repriced_drafts:,} draft invoices re-priced")


if __name__ == "__main__":
    sys.exit(main())
