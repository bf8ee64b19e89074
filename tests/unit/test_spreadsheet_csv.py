"""CSV a spreadsheet opens as data: a cell that would start a formula gets a leading quote
(OWASP's CSV injection rule), every cell is quoted, and exact decimal text in a numeric column
stays a number."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerline_ui.tables.spreadsheet_csv import FORMULA_STARTS, csv_text, inert_text


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(("cell", "written"), [
    pytest.param('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")', id="equals"),
    pytest.param("+1+1", "'+1+1", id="plus"),
    pytest.param("-2+3", "'-2+3", id="minus"),
    pytest.param("@SUM(A1)", "'@SUM(A1)", id="at"),
    pytest.param("\t=1+1", "'\t=1+1", id="tab"),
    pytest.param("\r=1+1", "'\r=1+1", id="carriage-return"),
    pytest.param("-50.00", "'-50.00", id="a-negative-number-in-a-text-column-is-text"),
    pytest.param("Initech", "Initech", id="plain-text-as-it-is"),
    pytest.param("Acme = Globex + 1", "Acme = Globex + 1", id="formula-signs-later-on"),
    pytest.param("'quoted", "'quoted", id="a-leading-quote-is-already-text"),
    pytest.param(" =1+1", " =1+1", id="a-leading-space-is-not-in-owasp-list"),
    pytest.param("", "", id="empty"),
])
def test_a_cell_that_would_start_a_formula_gets_a_leading_quote(cell, written):
    assert inert_text(cell) == written


def test_exact_decimal_text_in_a_numeric_column_stays_a_number():
    exported = csv_text(("name", "total"), [("-2+3", "-50.00"), ("Acme", "1000.00"),
                                            ("Globex", "0"), ("Initech", "-0.10")],
                        numeric={"total"})
    assert _read(exported) == [["name", "total"], ["'-2+3", "-50.00"], ["Acme", "1000.00"],
                               ["Globex", "0"], ["Initech", "-0.10"]]


@pytest.mark.parametrize("cell", ["-2+3", "=1+1", "-50.00e3", "-1,000.00", "+50.00", "-.5",
                                  "-50.", "@1", "\t1", "-50.00\n=1+1"])
def test_a_numeric_column_cell_that_is_not_plain_decimal_text_is_still_made_text(cell):
    [_, [written]] = _read(csv_text(("total",), [(cell,)], numeric={"total"}))
    assert written == f"'{cell}"


def test_every_cell_is_quoted_so_a_comma_or_quote_cannot_start_a_cell_of_its_own():
    exported = csv_text(("name", "total"), [('x",=1+1', "-50.00"), ("a\n=2+2", "1.00")],
                        numeric={"total"})
    assert exported == ('"name","total"\n"x"",=1+1","-50.00"\n"a\n=2+2","1.00"\n')
    assert _read(exported)[1:] == [['x",=1+1', "-50.00"], ["a\n=2+2", "1.00"]]


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_reading_an_export_back_gives_every_cell_with_at_most_a_leading_quote(cells):
    [_, read_back] = _read(csv_text([f"c{i}" for i in range(len(cells))], [cells]))
    assert read_back == [inert_text(cell) for cell in cells]
    assert not [cell for cell in read_back if cell.startswith(FORMULA_STARTS)]
    assert [cell[1:] if cell != original else cell
            for cell, original in zip(read_back, cells, strict=True)] == cells


def test_a_numeric_column_must_be_one_of_the_columns():
    with pytest.raises(ValueError, match=r"numeric columns \['totl'\]"):
        csv_text(("name", "total"), [], numeric={"totl"})


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError):
        csv_text(("name", "total"), [("Acme",)])
