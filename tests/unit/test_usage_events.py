"""Usage events checked before anything is stored, files read as streams, late usage priced
(SPEC 6, 12)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core.errors import InvalidInput
from billing_core.money import Money
from billing_core.plain_batch import plain_batch
from billing_core.usage import BYTES_PER_TB, MAX_BASE_UNITS, UsagePlan
from billing_core.usage_events import (
    EVENT_FIELDS,
    LineProblem,
    UsageBatchRefused,
    UsageFileTooLarge,
    check_event,
    late_usage_line,
)
from billing_core.usage_files import (
    MAX_USAGE_FILE_BYTES,
    check_file_size,
    event_object_rows,
    plain_event_row,
    read_usage_file,
    read_usage_rows,
)

STORAGE_1TB = UsagePlan("storage", "TB", BYTES_PER_TB, BYTES_PER_TB, Money("23.00", "USD"),
                        "byte")


def test_a_well_formed_event_is_aware_utc_with_whole_base_units():
    event = check_event("smb-wayne-tech", "evt-1", "storage", "1000000000000",
                        "2024-01-31T23:59:59+01:00")
    assert event.quantity_base_units == 10**12
    assert event.occurred_at == datetime(2024, 1, 31, 22, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(("fields", "field", "problem"), [
    pytest.param(("Acme", "e", "storage", "1", "2024-01-01T00:00:00Z"), "tenant_id",
                 "'Acme' is not a tenant id", id="tenant not a slug"),
    pytest.param(("t", "has space", "storage", "1", "2024-01-01T00:00:00Z"), "event_id",
                 "'has space' is not an event id", id="event id with a space"),
    pytest.param(("t", "e", "Storage!", "1", "2024-01-01T00:00:00Z"), "metric",
                 "'Storage!' is not a metric name", id="metric"),
    pytest.param(("t", "e", "storage", "1.5", "2024-01-01T00:00:00Z"), "quantity",
                 "'1.5' is not a whole number of base units", id="fraction"),
    pytest.param(("t", "e", "storage", "-3", "2024-01-01T00:00:00Z"), "quantity",
                 "'-3' is negative", id="negative"),
    pytest.param(("t", "e", "storage", 1.0, "2024-01-01T00:00:00Z"), "quantity",
                 "'1.0' is not a whole number", id="float from JSON"),
    pytest.param(("t", "e", "storage", True, "2024-01-01T00:00:00Z"), "quantity",
                 "'True' is not a whole number", id="bool"),
    pytest.param(("t", "e", "storage", str(2**63), "2024-01-01T00:00:00Z"), "quantity",
                 "9223372036854775808 is too large (at most 9,223,372,036,854,775,807)",
                 id="beyond a BIGINT"),
    pytest.param(("t", "e", "storage", "1", "2024-01-01T00:00:00"), "occurred_at",
                 "has no time zone", id="naive"),
    pytest.param(("t", "e", "storage", "1", "31/01/2024"), "occurred_at",
                 "is not an ISO 8601 timestamp", id="unparsable"),
])
def test_each_bad_field_is_named_with_its_problem(fields, field, problem):
    with pytest.raises(InvalidInput) as refused:
        check_event(*fields)
    assert refused.value.field == field
    assert problem in refused.value.problem


def _read(text: str, name: str = "u.csv") -> list:
    return list(read_usage_file(io.BytesIO(text.encode()), name))


def test_a_csv_file_streams_events_and_problems_with_their_line_numbers():
    parsed = _read("tenant_id,event_id,metric,quantity,occurred_at\n"
                   "t,e1,storage,5,2024-01-01T00:00:00Z\n\n"
                   "t,e2,storage,x,2024-01-01T00:00:00Z\n"
                   "t,e3,storage\n")
    assert parsed[0][0] == 2 and parsed[0][1].event_id == "e1"
    assert parsed[1:] == [
        LineProblem(4, "quantity", "'x' is not a whole number of base units"),
        LineProblem(5, None, "3 fields, expected 5 (tenant_id,event_id,metric,quantity,"
                             "occurred_at)")]


def test_the_rows_loaded_say_what_the_checked_events_say_on_the_fast_path_or_not():
    text = ("tenant_id,event_id,metric,quantity,occurred_at\r\n"
            "t,e1,storage,5,2024-01-01T00:00:00Z\r\n"            # plain: passed on as it came
            "t,\"e,2\"\"\",storage,7,2024-01-01T01:00:00+02:00\n"  # quoted id, another offset
            "t,e3,storage,9223372036854775807,2024-01-31T23:59:59.123456+00:00\n"
            "t,e4,storage,9223372036854775808,2024-01-01T00:00:00Z\n"  # one above the limit
            "t,e5,storage,5,2024-02-30T00:00:00Z\n\n"               # no such day
            "t,e6,storage,5,2024-01-01T00:00:00\n"                  # no offset
            "t,e7,storage,5\n")
    events = _read(text)
    rows = list(read_usage_rows(io.BytesIO(text.encode()), "u.csv"))
    assert [r for r in rows if isinstance(r, LineProblem)] == [
        e for e in events if isinstance(e, LineProblem)] != []
    loaded = [(int(n), check_event(*cells))
              for n, *cells in csv.reader(r for r in rows if isinstance(r, str))]
    assert loaded == [e for e in events if not isinstance(e, LineProblem)]
    assert [n for n, _ in loaded] == [2, 3, 4]
    assert loaded[1][1].event_id == 'e,2"'


def test_a_wrong_header_stops_the_file_at_line_1():
    [problem] = _read("tenant,id\nt,e1,storage,5,2024-01-01T00:00:00Z\n")
    assert str(problem).startswith("line 1: the header must be "
                                   "'tenant_id,event_id,metric,quantity,occurred_at'")


def test_json_lines_are_told_apart_by_their_first_character_and_need_exactly_five_keys():
    parsed = _read('{"tenant_id": "t", "event_id": "e1", "metric": "storage", "quantity": 5, '
                   '"occurred_at": "2024-01-01T00:00:00Z"}\n'
                   '{"tenant_id": "t", "event_id": "e2", "metric": "storage", "quantity": 5, '
                   '"occurred_at": "2024-01-01T00:00:00Z", "extra": 1}\n[1]\n', "usage")
    assert parsed[0][1].quantity_base_units == 5
    assert [str(p) for p in parsed[1:]] == [
        "line 2: unknown field 'extra'; an event has exactly tenant_id, event_id, metric, "
        "quantity, occurred_at",
        "line 3: is not a JSON object (one event a line)"]


def test_a_file_is_refused_by_its_size_alone():
    check_file_size(MAX_USAGE_FILE_BYTES)
    with pytest.raises(UsageFileTooLarge, match="2,000,000,000 bytes is too large"):
        check_file_size(2 * 10**9)


def test_a_refusal_lists_the_first_problems_and_counts_the_rest():
    problems = [LineProblem(n, "quantity", "bad") for n in range(2, 500)]
    refused = UsageBatchRefused(problems, 498)
    assert len(refused.problems) == 200
    assert str(refused).startswith("The file was not imported (498 problems, nothing was "
                                   "stored): line 2, quantity: bad;")
    assert str(refused).endswith("; and 298 more")


@pytest.mark.parametrize(("on_invoice", "billed_before", "late", "charged", "amount"), [
    pytest.param(BYTES_PER_TB, 0, BYTES_PER_TB // 2, "0.00", "11.50",
                 id="exactly 1 TB billed, half a TB late"),
    pytest.param(BYTES_PER_TB // 2, 0, BYTES_PER_TB // 4, "0.00", "0.00",
                 id="still within the included TB"),
    pytest.param(BYTES_PER_TB, BYTES_PER_TB // 2, BYTES_PER_TB // 4, "11.50", "5.75",
                 id="late usage billed before is not charged twice"),
    pytest.param(2 * BYTES_PER_TB, 0, 1, "23.00", "0.00",
                 id="one byte more rounds to nothing"),
])
def test_late_usage_charges_the_period_with_it_minus_what_was_charged(
        on_invoice, billed_before, late, charged, amount):
    line = late_usage_line("2024-01", STORAGE_1TB, on_invoice, billed_before, late,
                           Money(charged, "USD"))
    assert line.amount == Money(amount, "USD")
    assert line.description == "Late usage from 2024-01 (storage)"
    assert line.quantity == late
    assert line.exact_amount == Decimal(amount)
    assert f"already charged ${charged}" in line.explanation


_FIELD_VALUES = {
    "tenant_id": ["t", "acme-1", "Acme", "a--b", "a,b", "x" * 201, "", 7, None],
    "event_id": ["e1", "e,1", 'e"1', "e\\1", "", " e", "é", "x" * 129, 1],
    "metric": ["storage", "Storage", "s" * 64, "api_calls", "1x", ["storage"]],
    "quantity": [0, 5, -1, 2**63 - 1, 2**63, True, 5.0, "5", "-5", None],
    "occurred_at": ["2024-01-01T00:00:00Z", "2024-01-31T23:59:59.123456+00:00",
                    "2024-01-01T01:00:00+02:00", "2024-01-01T00:00:00",
                    "2024-02-30T00:00:00Z", "2024-01-01T00:00:00.1234567Z",
                    "2024-01-01 00:00:00Z", 1704067200],
}


@st.composite
def _event_objects(draw) -> object:
    """Objects near an event: each field often plain (the first two values), else odd."""
    event = {field: draw(st.sampled_from(values[:2]) | st.sampled_from(values))
             for field, values in _FIELD_VALUES.items()}
    if draw(st.booleans()) and draw(st.booleans()):
        del event[draw(st.sampled_from(EVENT_FIELDS))]
    if draw(st.booleans()) and draw(st.booleans()):
        event["extra"] = 1
    return event


@given(_event_objects())
@settings(max_examples=400, deadline=None)
def test_an_event_object_is_loaded_as_check_event_reads_it_on_the_plain_path_or_not(event):
    _assert_loaded_as_checked(event)


@pytest.mark.parametrize(("field", "value"), [
    (field, value) for field, values in _FIELD_VALUES.items() for value in values])
def test_each_odd_field_alone_is_loaded_as_check_event_reads_it(field, value):
    plain = {field: values[0] for field, values in _FIELD_VALUES.items()}
    _assert_loaded_as_checked({**plain, field: value})


@pytest.mark.parametrize("missing", EVENT_FIELDS)
def test_a_plain_event_but_for_a_missing_or_an_extra_field_is_no_row(missing):
    plain = {field: values[0] for field, values in _FIELD_VALUES.items()}
    _assert_loaded_as_checked({**plain, "extra": 1})
    _assert_loaded_as_checked({field: plain[field] for field in EVENT_FIELDS if field != missing})


def _assert_loaded_as_checked(event: dict[str, object]) -> None:
    [row] = event_object_rows([event])
    if sorted(event) != sorted(EVENT_FIELDS):
        assert isinstance(row, LineProblem) and plain_event_row(event, 1) is None
        return
    try:
        checked = check_event(*(event[field] for field in EVENT_FIELDS))
    except InvalidInput as wrong:
        assert row == LineProblem(1, wrong.field, wrong.problem)
        assert plain_event_row(event, 1) is None
        return
    [[line_no, *cells]] = csv.reader([row])
    assert (int(line_no), check_event(*cells)) == (1, checked)
    if plain_event_row(event, 1) is not None:  # the plain path: the texts as they came
        assert row == (f"1,{event['tenant_id']},{event['event_id']},{event['metric']},"
                       f"{event['quantity']},{event['occurred_at']}\n")


def test_a_plain_batch_is_every_row_or_none():
    plain = {"tenant_id": "t", "event_id": "e1", "metric": "storage", "quantity": 5,
             "occurred_at": "2024-01-01T00:00:00Z"}
    batch = plain_batch([plain, {**plain, "event_id": "e2"}])
    assert batch is not None and list(batch.rows()) == [
        "1,t,e1,storage,5,2024-01-01T00:00:00Z\n", "2,t,e2,storage,5,2024-01-01T00:00:00Z\n"]
    assert plain_batch([plain, {**plain, "quantity": "5"}]) is None


_PLAIN_VALUES = {
    "tenant_id": st.sampled_from(["t", "acme-1", "a" * 200]),
    "event_id": st.sampled_from(["e1", "e2", "x" * 128, "#~!"]),
    "metric": st.sampled_from(["storage", "s" * 63]),
    "quantity": st.integers(0, MAX_BASE_UNITS),
    "occurred_at": st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-31T23:59:59.123456+00:00",
                                    "2023-12-31T23:00:00Z", "2024-02-29T12:00:00.5Z"]),
}


@given(st.lists(st.fixed_dictionaries(_PLAIN_VALUES) | _event_objects(), min_size=1, max_size=6))
@settings(max_examples=400, deadline=None)
def test_a_batch_by_column_is_plain_exactly_when_each_event_is(events):
    each = [plain_event_row(event, line_no) for line_no, event in enumerate(events, start=1)]
    rows = None if None in each else each
    batch = plain_batch(events)
    assert (batch is None) == (rows is None)
    if batch is not None:
        assert list(batch.rows()) == rows
        assert batch.copy_text(",9\n") == "".join(row.split(",", 1)[1][:-1] + ",9\n"
                                                  for row in rows)
        assert batch.tenant_ids == tuple(event["tenant_id"] for event in events)
        assert batch.event_ids == tuple(event["event_id"] for event in events)
        assert batch.pairs == {(event["tenant_id"], event["metric"]) for event in events}
        days = [event["occurred_at"][:10] for event in events]
        assert (batch.first_day, batch.last_day) == (min(days), max(days))


@pytest.mark.parametrize("odd", [
    {"quantity": MAX_BASE_UNITS + 1}, {"quantity": -1}, {"quantity": True},
    {"occurred_at": "2024-02-30T00:00:00Z"}, {"event_id": "e\n1"}, {"tenant_id": "t\nt"},
    {"metric": 5}, {"extra": 1},
])
def test_one_odd_event_makes_the_batch_not_plain(odd):
    plain = {"tenant_id": "t", "event_id": "e1", "metric": "storage", "quantity": 5,
             "occurred_at": "2024-01-01T00:00:00Z"}
    assert plain_batch([plain, plain]) is not None
    assert plain_batch([plain, {**plain, **odd}]) is None
