"""Reconciliation: each incident symptom found on a crafted legacy row, to the cent; a correct
legacy invoice reports nothing; a malformed file names its bad lines; the sample finds all six."""

from __future__ import annotations

from pathlib import Path

import pytest

from billing_core.legacy_csv import COLUMNS, LegacyFileError, parse_legacy_csv
from billing_core.money import Money
from billing_core.reconciliation import Action, Rule, reconcile, summarize
from tests.helpers import usd

SAMPLE = Path(__file__).resolve().parents[2] / "db" / "sample_data" / "legacy_invoices.csv"
HEADER = ",".join(COLUMNS)


def row(**cells: str) -> str:
    """One CSV line in COLUMNS order; an invoice of $1000.00 for November 2024 unless told."""
    values = {"record": "invoice", "tenant_id": "ent-x", "period": "2024-11",
              "legacy_id": "OLD-1", "status": "paid", "currency": "USD",
              "plans": "2024-01-01 compute-1000 1000.00", "billed_recurring": "1000.00",
              "billed_total": "1000.00", **cells}
    return ",".join(f'"{values.get(column, "")}"' for column in COLUMNS)


def found(*lines: str):
    legacy = parse_legacy_csv("\n".join([HEADER, *lines]) + "\n")
    return reconcile(legacy.invoices, legacy.allocations)


# (id, rows, rule, billed, correct, difference, action)
CASES = [
    ("proration: $1000.00 from 2024-11-16 billed $502.00, correct $500.00",
     [row(plans="2024-11-16 compute-1000 1000.00", billed_recurring="502.00",
          billed_total="502.00")],
     Rule.PRORATION, "502.00", "500.00", "2.00", Action.CREDIT_NOTE),
    ("proration: a float from the old system, '502.0000001', is text rounded once",
     [row(plans="2024-11-16 compute-1000 1000.00", billed_recurring="502.0000001",
          billed_total="502.0000001")],
     Rule.PRORATION, "502.00", "500.00", "2.00", Action.CREDIT_NOTE),
    ("proration under 10% off: $2.00 too much costs the customer $1.80",
     [row(plans="2024-11-16 compute-1000 1000.00", discounts="10% Enterprise",
          billed_recurring="502.00", billed_discount="50.20", billed_total="451.80")],
     Rule.PRORATION, "451.80", "450.00", "1.80", Action.CREDIT_NOTE),
    ("discount order: 10% and $50.00 off $1000.00 billed $855.00, correct $850.00",
     [row(discounts="50.00 Promotional credit; 10% Enterprise discount",
          billed_discount="145.00", billed_total="855.00")],
     Rule.DISCOUNT_ORDER, "855.00", "850.00", "5.00", Action.CREDIT_NOTE),
    ("overage at the limit: exactly 1 TB on a 1 TB plan billed $23.00 of overage",
     [row(plans="2024-01-01 storage-1tb 100.00", usage_metric="storage",
          used_base_units="1000000000000", included_base_units="1000000000000",
          base_units_per_unit="1000000000000", usage_price_per_unit="23.00",
          billed_recurring="100.00", billed_usage="23.00", billed_total="123.00")],
     Rule.OVERAGE_AT_LIMIT, "123.00", "100.00", "23.00", Action.CREDIT_NOTE),
    ("credit on a finalized invoice: $200.00 applied after payment never reached the customer",
     [row(credits="200.00@paid", billed_credit="200.00", billed_total="800.00")],
     Rule.CREDIT_ON_FINALIZED, "1000.00", "800.00", "200.00", Action.CREDIT_NOTE),
    ("duplicate invoice: the same tenant and period twice, the second is voided",
     [row(legacy_id="OLD-1"), row(legacy_id="OLD-2", status="finalized")],
     Rule.DUPLICATE_INVOICE, "1000.00", "0.00", "1000.00", Action.VOID),
    ("allocation rounding: $1000.00 by 33.33/33.33/33.34 billed $999.90; the last share "
     "is $0.10 short",
     [row(record="allocation", tenant_id="a", legacy_id="ALLOC-1", status="", plans="",
          billed_recurring="", billed_total="333.30", weight="33.33", allocation_total="1000.00"),
      row(record="allocation", tenant_id="b", legacy_id="ALLOC-1", status="", plans="",
          billed_recurring="", billed_total="333.30", weight="33.33", allocation_total="1000.00"),
      row(record="allocation", tenant_id="c", legacy_id="ALLOC-1", status="", plans="",
          billed_recurring="", billed_total="333.30", weight="33.34", allocation_total="1000.00")],
     Rule.ALLOCATION_ROUNDING, "333.30", "333.40", "-0.10", Action.REPORT),
]


@pytest.mark.parametrize(("rows", "rule", "billed", "correct", "difference", "action"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_rule_is_found_to_the_cent(rows, rule, billed, correct, difference, action):
    discrepancies = found(*rows)
    assert [(d.rule, d.billed, d.correct, d.difference, d.action) for d in discrepancies] == [
        (rule, usd(billed), usd(correct), usd(difference), action)]


@pytest.mark.parametrize("cells", [
    {},
    {"plans": "2024-06-01 compute-600 600.00; 2024-11-16 compute-1000 1000.00",
     "billed_recurring": "800.00", "billed_total": "800.00"},
    {"discounts": "50.00 Promotional credit; 10% Enterprise discount",
     "billed_discount": "150.00", "billed_total": "850.00"},
    {"credits": "200.00@draft", "billed_credit": "200.00", "billed_total": "800.00"},
    {"plans": "2024-01-01 storage-1tb 100.00", "usage_metric": "storage",
     "used_base_units": "1000000000001", "included_base_units": "1000000000000",
     "base_units_per_unit": "1000000000000", "usage_price_per_unit": "23.00",
     "billed_recurring": "100.00", "billed_usage": "0.00", "billed_total": "100.00"},
    {"status": "void", "billed_recurring": "1.00", "billed_total": "1.00"},
], ids=["full month", "upgrade 300 + 500", "percent first", "credit on a draft",
        "one byte over is $0.00", "a void invoice charged nothing"])
def test_a_correct_legacy_invoice_reports_no_discrepancy(cells):
    assert found(row(**cells)) == []


def test_a_void_first_invoice_is_not_a_duplicate_of_the_second():
    assert found(row(legacy_id="OLD-1", status="void"), row(legacy_id="OLD-2")) == []


def test_several_rules_on_one_invoice_add_up_to_the_whole_difference():
    discrepancies = found(row(
        plans="2024-06-01 compute-600 600.00; 2024-11-16 compute-1000 1000.00",
        discounts="50.00 Promo; 10% Enterprise", credits="100.00@finalized",
        billed_recurring="802.00", billed_discount="125.20", billed_credit="100.00",
        billed_total="576.80"))
    # charged 676.80 (576.80 + the credit that never arrived); 802 in the right order: 671.80;
    # prorated right: 800 * 0.9 - 50 = 670.00; the credit owed: 570.00
    assert [(d.rule, d.difference) for d in discrepancies] == [
        (Rule.DISCOUNT_ORDER, usd("5.00")), (Rule.PRORATION, usd("1.80")),
        (Rule.CREDIT_ON_FINALIZED, usd("100.00"))]
    assert {(d.billed, d.correct) for d in discrepancies} == {(usd("676.80"), usd("570.00"))}
    assert sum((d.difference for d in discrepancies), usd("0")) == usd("106.80")


def test_a_discount_no_order_explains_is_unexplained_not_forced_into_a_rule():
    [item] = found(row(discounts="10% Enterprise", billed_discount="90.00",
                       billed_total="910.00"))
    assert (item.rule, item.difference) == (Rule.UNEXPLAINED, usd("10.00"))


def test_a_malformed_file_names_every_bad_line_and_its_reason():
    content = "\n".join([
        HEADER,
        row(legacy_id="OLD-1"),
        row(legacy_id="OLD-2", billed_total="abc"),
        row(legacy_id="OLD-3", billed_recurring="1000.00", billed_total="999.00"),
        row(legacy_id="OLD-4", status="sent"),
        row(legacy_id="OLD-1"),
    ])
    with pytest.raises(LegacyFileError) as raised:
        parse_legacy_csv(content)
    assert [(p.line, p.reason) for p in raised.value.problems] == [
        (3, "billed_total: 'abc' is not a number"),
        (4, "billed_total: $999.00 is not recurring + usage - discount - credit ($1,000.00)"),
        (5, "status: 'sent' is not one of draft, finalized, paid, void"),
        (6, "legacy_id: 'OLD-1' of ent-x is already on line 2"),
    ]
    assert str(raised.value).startswith("legacy file: 4 bad lines, nothing imported: "
                                        "line 3: billed_total: 'abc' is not a number; ")


@pytest.mark.parametrize(("content", "reason"), [
    ("", "the file is empty; the header row is missing"),
    ("record,tenant_id,period\ninvoice,a,2024-11\n", "missing columns legacy_id, currency"),
    (HEADER + ",colour\n", "unknown column colour"),
], ids=["empty", "missing columns", "unknown column"])
def test_a_bad_header_is_line_one(content, reason):
    with pytest.raises(LegacyFileError) as raised:
        parse_legacy_csv(content)
    assert [(p.line, p.reason) for p in raised.value.problems] == [(1, reason)]


def test_a_float_never_reaches_the_parser():
    with pytest.raises(TypeError):
        Money(502.0000001, "USD")  # type: ignore[arg-type]


def test_the_sample_file_finds_all_six_incident_symptoms():
    legacy = parse_legacy_csv(SAMPLE.read_text(encoding="utf-8"))
    discrepancies = reconcile(legacy.invoices, legacy.allocations)
    assert [(d.tenant_id, d.rule, d.billed, d.correct, d.difference) for d in discrepancies] == [
        ("ent-acme-corp", Rule.PRORATION, usd("802.00"), usd("800.00"), usd("2.00")),
        ("ent-globex-industries", Rule.DUPLICATE_INVOICE, usd("1000.00"), usd("0.00"),
         usd("1000.00")),
        ("ent-initech", Rule.DISCOUNT_ORDER, usd("855.00"), usd("850.00"), usd("5.00")),
        ("ent-umbrella", Rule.CREDIT_ON_FINALIZED, usd("1000.00"), usd("800.00"),
         usd("200.00")),
        ("smb-wayne-tech", Rule.OVERAGE_AT_LIMIT, usd("123.00"), usd("100.00"), usd("23.00")),
        ("ent-initech", Rule.ALLOCATION_ROUNDING, usd("333.30"), usd("333.40"), usd("-0.10")),
    ]
    totals = summarize(discrepancies)
    assert [(t.rule, t.count, t.net) for t in totals.by_rule] == [
        (Rule.PRORATION, 1, usd("2.00")), (Rule.DISCOUNT_ORDER, 1, usd("5.00")),
        (Rule.OVERAGE_AT_LIMIT, 1, usd("23.00")), (Rule.CREDIT_ON_FINALIZED, 1, usd("200.00")),
        (Rule.DUPLICATE_INVOICE, 1, usd("1000.00")), (Rule.ALLOCATION_ROUNDING, 1, usd("-0.10"))]
    [overall] = totals.overall
    assert (overall.count, overall.overcharged, overall.undercharged, overall.net) == (
        6, usd("1230.00"), usd("0.10"), usd("1229.90"))


def test_one_pass_names_every_bad_cell_of_a_line_not_only_the_first():
    content = "\n".join([
        HEADER,
        row(legacy_id="OLD-1", status="sent", billed_total="10OO.00", period="2024-13"),
        row(legacy_id="OLD-2", currency="XXX"),
    ])
    with pytest.raises(LegacyFileError) as raised:
        parse_legacy_csv(content)
    assert [(p.line, p.field, p.problem) for p in raised.value.problems] == [
        (2, "period", "'2024-13' is not a month like 2024-01"),
        (2, "status", "'sent' is not one of draft, finalized, paid, void"),
        (2, "billed_total", "'10OO.00' is not a number"),
        (3, "currency", "'XXX' is not a supported currency"),
    ]
    assert str(raised.value).startswith("legacy file: 2 bad lines, nothing imported: line 2: ")


def test_a_file_of_thousands_of_bad_lines_is_one_error_naming_the_first_hundred():
    content = "\n".join([HEADER, *(row(legacy_id=f"OLD-{n}", status="sent")
                                   for n in range(1, 5001))])
    with pytest.raises(LegacyFileError) as raised:
        parse_legacy_csv(content)
    assert len(raised.value.problems) == 5000
    message = str(raised.value)
    assert message.startswith("legacy file: 5000 bad lines, nothing imported: line 2: status: ")
    assert "line 101: status" in message and "line 102:" not in message
    assert message.endswith("; and 4900 more bad lines")
