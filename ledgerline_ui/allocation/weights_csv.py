"""Allocation weights uploaded as CSV: `tenant_id,weight`, one tenant a line.

A manager exports weights from a spreadsheet; every line is checked before any
split is shown, and every problem names its line so it can be fixed in the
file: an unknown tenant, a weight that is not a number, a negative weight, a
tenant listed twice. Weights are read as Decimal straight from the text (a
spreadsheet's "33.33" stays exactly 33.33; never float), through the core's
weight door (`billing_core.allocation.to_weight`), which refuses a weight of
more than `MAX_WEIGHT_DIGITS` (18) digits written out, such as "1e3000000",
before anything is computed with it. The header line `tenant_id,weight` is optional; blank lines
are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator
from decimal import Decimal

from billing_core.allocation import to_weight
from billing_core.errors import InvalidInput

FIELD = "weights CSV"
_MAX_PROBLEMS_SHOWN = 5


def tenant_ids_in(content: str | bytes) -> list[str]:
    """The first cell of every line: the tenant ids to look up before `parse_weights_csv`."""
    if isinstance(content, bytes):
        content = content.decode("utf-8-sig", errors="replace")
    ids = []
    try:
        for row in csv.reader(io.StringIO(content)):
            if row and row[0].strip():
                ids.append(row[0].strip())
    except csv.Error:
        pass  # `parse_weights_csv` names the line
    return ids


def parse_weights_csv(content: str | bytes, known_tenants: Collection[str]) -> dict[str, Decimal]:
    """`{tenant_id: weight}` in file order; InvalidInput("weights CSV", "line 3: ...") otherwise.

    >>> parse_weights_csv("tenant_id,weight\\na,33.33\\nb,66.67\\n", {"a", "b"})
    {'a': Decimal('33.33'), 'b': Decimal('66.67')}
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(FIELD, "is not UTF-8 text; export it as CSV (UTF-8)") from None
    weights: dict[str, Decimal] = {}
    first_line: dict[str, int] = {}
    problems: list[str] = []
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff")))
    for line_no, row in enumerate(_rows(reader, problems), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if line_no == 1 and [c.lower() for c in cells] == ["tenant_id", "weight"]:
            continue
        problem = _check_row(cells, known_tenants, first_line, weights)
        if problem:
            problems.append(f"line {line_no}: {problem}")
        else:
            weights[cells[0]] = to_weight(cells[1])
            first_line[cells[0]] = line_no
    if problems:
        shown = problems[:_MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise InvalidInput(FIELD, "; ".join(shown) + (f"; and {more} more" if more else ""))
    if not weights:
        raise InvalidInput(FIELD, "has no weights; expected lines like 'ent-initech,33.34'")
    return weights


def _rows(reader: Iterator[list[str]], problems: list[str]) -> Iterator[list[str]]:
    """The reader's rows; a cell too long for the csv module ends the file with a named problem."""
    try:
        yield from reader
    except csv.Error as error:
        problems.append(f"line {reader.line_num}: cannot be read as CSV ({error})")  # type: ignore[attr-defined]


def _check_row(cells: list[str], known_tenants: Collection[str], first_line: dict[str, int],
               weights: dict[str, Decimal]) -> str | None:
    if len(cells) != 2:
        return f"expected 2 values (tenant_id,weight), found {len(cells)}"
    tenant_id, text = cells
    if not tenant_id:
        return "the tenant id is empty"
    if tenant_id in weights:
        return f"tenant {tenant_id!r} is listed twice (first on line {first_line[tenant_id]})"
    if tenant_id not in known_tenants:
        return f"unknown tenant {tenant_id!r}"
    try:
        weight = to_weight(text, f"weight for {tenant_id!r}")
    except InvalidInput as error:
        return str(error)
    if weight < 0:
        return f"weight {text} for {tenant_id!r} is negative; weights must be zero or more"
    return None
