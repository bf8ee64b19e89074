"""`python -m db.usage import FILE`: the platform's jobs send a usage file (docs/usage-events.md).

`python -m db.usage roll-up` writes the day totals of imports stored the straight way
(`db.usage_days`), which a job worker does every minute.

The file (CSV or JSON Lines) is imported in one transaction, all or nothing, by
`db.usage_events.import_usage_path`. Exit status: 0 imported (the counts are
printed: new, duplicate, conflict, late, drafts re-priced), 2 refused (every bad
line is printed, nothing was stored). The database is `DATABASE_URL`'s, else the
embedded one, migrated first.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import Actor, Role
from db.command_line import command_parser, run_with_database
from db.usage_days import roll_up_pending_days
from db.usage_events import UsageImportResult, import_usage_path


def main(argv: list[str] | None = None) -> int:
    parser, commands = command_parser("usage", "Usage events (see docs/usage-events.md).")
    run = commands.add_parser("import", help="import a CSV or JSON Lines file of usage events")
    run.add_argument("file", type=Path, help="the file (.csv, .jsonl)")
    run.add_argument("--actor", default="usage-import",
                     help="who the audit log names, acting as finance (default: usage-import)")
    commands.add_parser("roll-up", help="write the day totals of pending imports now")
    args = parser.parse_args(argv)
    if args.command == "roll-up":
        return run_with_database(_roll_up)
    if not args.file.is_file():
        print(f"file: {args.file} is not a file", file=sys.stderr)
        return 2

    def import_file(sessions: sessionmaker[Session]) -> None:
        with sessions.begin() as session:
            result = import_usage_path(session, args.file, actor=Actor(args.actor, Role.FINANCE))
        print(summary(result))

    return run_with_database(import_file)


def _roll_up(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        rolled = roll_up_pending_days(session)
    print(f"Usage days rolled up: {rolled.imports:,} imports, {rolled.days:,} day rows")


def summary(result: UsageImportResult) -> str:
    """One line of counts, as the command prints it and the Usage screen shows it."""
    counts = result.counts
    return (f"Usage import #{result.import_id}: {counts.received:,} events received, "
            f"{counts.new:,} new ({counts.late:,} late), {counts.duplicate:,} duplicates, "
            f"{counts.conflict:,} conflicts; {result.repriced_drafts:,} draft invoices re-priced")


if __name__ == "__main__":
    sys.exit(main())
