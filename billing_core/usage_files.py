"""Usage files: CSV or JSON Lines, one event a line, read as a stream.

A file can hold ten million events, so it is never read whole: `read_usage_file`
yields each line's event (or what is wrong with it) as it goes, and the caller
streams the events on to the database. Its size is checked first, from what the
file system or the upload says, before a byte is read (`check_file_size`).

Formats (docs/usage-events.md):
- CSV: a header line `tenant_id,event_id,metric,quantity,occurred_at`, then one
  event a line;
- JSON Lines: one object a line with exactly those five keys; `quantity` a JSON
  integer (or a string of digits), `occurred_at` an ISO 8601 string with its offset.

A file ending `.csv` is CSV, one ending `.jsonl` / `.ndjson` / `.json` is JSON
Lines; any other name is told apart by its first character (`{`: JSON Lines).
Blank lines are skipped. Line numbers count from 1, the header included.

The database loads events as CSV rows `line_no,tenant_id,event_id,metric,quantity,
occurred_at` (`read_usage_rows`, `event_rows`). A plainly well-formed CSV line becomes its
row after one regular expression and one timestamp parse, its text passed on as it came, and
so does a plainly well-formed event object (a JSON Lines line, an API batch's event:
`plain_event_row`); only the others (quotes, other offsets, a quantity sent as text,
anything wrong) go through `check_event`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, BinaryIO, NoReturn, TypeVar

from billing_core.errors import InvalidInput
from billing_core.usage import MAX_BASE_UNITS
from billing_core.usage_events import (
    EVENT_FIELDS,
    MAX_PROBLEMS_LISTED,
    LineProblem,
    UsageBatchRefused,
    UsageEvent,
    UsageFileTooLarge,
    check_event,
)

MAX_USAGE_FILE_BYTES = 2**30
"""The largest usage file accepted (1 GiB, about 14 million events of 75 bytes): a bigger one is
refused by its size, unread, and is sent as several files instead."""

CSV_HEADER = ",".join(EVENT_FIELDS)
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")

ParsedLine = tuple[int, UsageEvent] | LineProblem
UsageRow = str | LineProblem
"""A good line as the CSV row the database loads (ending in a newline), or its problem."""
Parsed = TypeVar("Parsed", ParsedLine, UsageRow)

# What `check_event` accepts, minus what a CSV row or PostgreSQL would read otherwise: no quote
# or comma in the event id (they need CSV quoting), the instant's offset Z or +00:00 (Python
# accepts offsets PostgreSQL refuses), at most microseconds (Python would cut, PostgreSQL round).
PLAIN_CSV_LINE = re.compile(
    r"[a-z0-9]+(?:-[a-z0-9]+)*,[!#-+\--~]{1,128},[a-z][a-z0-9_]{0,62},([0-9]{1,19}),"
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|\+00:00))")
_LONGEST_QUANTITY_DIGITS = len(str(MAX_BASE_UNITS))


def refuse_batch(first: LineProblem, rest: Iterable[UsageRow], batch_name: str) -> NoReturn:
    """Refuse the batch (UsageBatchRefused) at its first bad line, naming it and every bad line
    of the rows after it (up to `MAX_PROBLEMS_LISTED`, then how many more)."""
    problems = [first]
    problem_count = 1
    for row in rest:
        if isinstance(row, LineProblem):
            problem_count += 1
            if len(problems) < MAX_PROBLEMS_LISTED:
                problems.append(row)
    raise UsageBatchRefused(problems, problem_count, batch_name)


def check_file_size(size_bytes: int, limit_bytes: int = MAX_USAGE_FILE_BYTES) -> None:
    """Refuse (UsageFileTooLarge) a file above the limit, judged by its size alone."""
    if size_bytes > limit_bytes:
        raise UsageFileTooLarge(size_bytes, limit_bytes)


def read_usage_file(stream: BinaryIO, name: str = "") -> Iterator[ParsedLine]:
    """Each line of a usage file, in order: `(line_no, event)` or a `LineProblem`.

    A problem that leaves the rest unreadable (a wrong header, text that is not UTF-8)
    is the last thing yielded."""
    # A buffered reader can peek at the first bytes without consuming them.
    buffered: Any = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
    if _is_json_lines(buffered, name):
        return _json_lines(buffered)
    return _csv_lines(buffered)


def read_usage_rows(stream: BinaryIO, name: str = "") -> Iterator[UsageRow]:
    """`read_usage_file`'s lines, each good one as its database row (`event_row`)."""
    buffered: Any = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
    if _is_json_lines(buffered, name):
        return _json_rows(buffered)
    return _csv_rows(buffered)


def event_rows(lines: Iterable[ParsedLine]) -> Iterator[UsageRow]:
    for line in lines:
        yield line if isinstance(line, LineProblem) else event_row(*line)


def event_row(line_no: int, event: UsageEvent) -> str:
    """`line_no,tenant_id,event_id,metric,quantity,occurred_at` and a newline, as CSV."""
    event_id = event.event_id
    if "," in event_id or '"' in event_id:
        event_id = '"' + event_id.replace('"', '""') + '"'
    return (f"{line_no},{event.tenant_id},{event_id},{event.metric},"
            f"{event.quantity_base_units},{event.occurred_at.isoformat()}\n")


def _is_json_lines(stream: Any, name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return False
    if lowered.endswith(_JSON_SUFFIXES):
        return True
    return stream.peek(64).lstrip()[:1] == b"{"


def _csv_lines(stream: Any) -> Iterator[ParsedLine]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    rows = csv.reader(text, strict=True)
    line_no = 0
    try:
        header = next(rows, None)
        problem = _header_problem(header)
        if problem is not None:
            yield problem
            return
        for row in rows:
            line_no = rows.line_num
            yield from _cells_event(row, line_no)
    except UnicodeDecodeError:
        yield LineProblem(line_no + 1, None, "is not UTF-8 text; nothing after it was read")
    except csv.Error as error:
        yield LineProblem(rows.line_num, None, f"is not valid CSV ({error}); nothing after it "
                                               "was read")


def _csv_rows(stream: Any) -> Iterator[UsageRow]:
    """`_csv_lines` as rows, a plain line passed on as it came (see `PLAIN_CSV_LINE`)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    line_no = 1
    try:
        first = text.readline()
        header = _csv_cells(first, line_no) if first else None
        if isinstance(header, LineProblem):
            yield header
            return
        problem = _header_problem(header)
        if problem is not None:
            yield problem
            return
        plain = PLAIN_CSV_LINE.fullmatch
        parse_instant = datetime.fromisoformat
        for line_no, line in enumerate(text, start=2):
            line = line.rstrip("\r\n")
            match = plain(line)
            if match is not None and (len(match[1]) < _LONGEST_QUANTITY_DIGITS
                                      or int(match[1]) <= MAX_BASE_UNITS):
                try:
                    parse_instant(match[2])  # a real date and time, or check_event says why
                    yield f"{line_no},{line}\n"
                    continue
                except ValueError:
                    pass
            if not line:
                continue
            cells = _csv_cells(line, line_no)
            if isinstance(cells, LineProblem):
                yield cells
                return
            yield from event_rows(_cells_event(cells, line_no))
    except UnicodeDecodeError:
        yield LineProblem(line_no + 1, None, "is not UTF-8 text; nothing after it was read")


def _csv_cells(line: str, line_no: int) -> list[str] | LineProblem:
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error as error:
        return LineProblem(line_no, None, f"is not valid CSV ({error}); nothing after it "
                                          "was read")


def _header_problem(header: list[str] | None) -> LineProblem | None:
    if header is None:
        return LineProblem(1, None, f"the file is empty; it needs the header '{CSV_HEADER}'")
    if [cell.strip() for cell in header] != list(EVENT_FIELDS):
        return LineProblem(1, None, f"the header must be '{CSV_HEADER}', found "
                                    f"{','.join(header)[:120]!r}")
    return None


def _cells_event(row: list[str], line_no: int) -> Iterator[ParsedLine]:
    if len(row) == 5:
        try:
            yield line_no, check_event(*row)
        except InvalidInput as error:
            yield LineProblem(line_no, error.field, error.problem)
    elif row:
        yield LineProblem(line_no, None, f"{len(row)} fields, expected 5 ({CSV_HEADER})")


def _json_lines(stream: Any) -> Iterator[ParsedLine]:
    return _each_json_object(stream, _object_event)


def _json_rows(stream: Any) -> Iterator[UsageRow]:
    return _each_json_object(stream, _object_rows)


def _each_json_object(stream: Any, read: Callable[[object, int], Iterator[Parsed]]
                      ) -> Iterator[Parsed | LineProblem]:
    """`read(object, line_no)` for each line's decoded object, or the line's problem."""
    for line_no, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except UnicodeDecodeError:
            yield LineProblem(line_no, None, "is not UTF-8 text")
            continue
        except ValueError:
            yield LineProblem(line_no, None, "is not a JSON object (one event a line)")
            continue
        yield from read(event, line_no)


def event_object_rows(objects: Iterable[object]) -> Iterator[UsageRow]:
    """Events as an API receives them (decoded JSON objects, or `UsageEvent`s already
    checked), numbered from 1 in the order
    sent, each as its row (`plain_event_row`, else through `check_event`) or its problem."""
    for position, event in enumerate(objects, start=1):
        if isinstance(event, UsageEvent):
            yield event_row(position, event)
        else:
            yield from _object_rows(event, position)


def _object_rows(event: object, line_no: int) -> Iterator[UsageRow]:
    row = plain_event_row(event, line_no)
    if row is not None:
        yield row
    else:
        yield from event_rows(_object_event(event, line_no))


def plain_event_row(event: object, line_no: int) -> str | None:
    """The row of a plainly well-formed event object, or None: exactly the five fields, four
    texts and an integer quantity that make a plain CSV line (`PLAIN_CSV_LINE`, one
    regular expression), and a real instant. None says nothing about the event: it goes
    through `check_event`, which names what is wrong, if anything."""
    if type(event) is not dict or len(event) != 5:
        return None
    try:
        tenant_id, event_id, metric, quantity, occurred_at = (
            event["tenant_id"], event["event_id"], event["metric"], event["quantity"],
            event["occurred_at"])
    except KeyError:
        return None
    # Only texts make the line: a number or a list printed into it must not pass for one.
    if type(quantity) is not int or not (type(tenant_id) is type(event_id) is type(metric)
                                         is type(occurred_at) is str):
        return None
    line = f"{tenant_id},{event_id},{metric},{quantity},{occurred_at}"
    match = PLAIN_CSV_LINE.fullmatch(line)
    if match is None or not (len(match[1]) < _LONGEST_QUANTITY_DIGITS
                             or quantity <= MAX_BASE_UNITS):
        return None
    try:
        datetime.fromisoformat(match[2])
    except ValueError:
        return None
    return f"{line_no},{line}\n"


def _object_event(event: object, line_no: int) -> Iterator[ParsedLine]:
    if not isinstance(event, dict):
        yield LineProblem(line_no, None, "is not a JSON object (one event a line)")
        return
    problem = _key_problem(event, line_no)
    if problem is not None:
        yield problem
        return
    try:
        yield line_no, check_event(*(event[field] for field in EVENT_FIELDS))
    except InvalidInput as error:
        yield LineProblem(line_no, error.field, error.problem)


def _key_problem(event: dict[str, object], line_no: int) -> LineProblem | None:
    if len(event) == 5 and all(field in event for field in EVENT_FIELDS):
        return None
    for field in EVENT_FIELDS:
        if field not in event:
            return LineProblem(line_no, field, "is missing")
    extra = sorted(key for key in event if key not in EVENT_FIELDS)
    return LineProblem(line_no, None, f"unknown field {extra[0][:60]!r}; an event has exactly "
                                      f"{', '.join(EVENT_FIELDS)}")
