"""Figures (`st.metric`) are read whole on laptop screens: Streamlit cut a value wider than its
column with an ellipsis, and Home at 1,280 px showed a month's drafts as "$134,49…"
(ledgerline_ui/shell/setup.py, _WHOLE_FIGURES)."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest

from billing_core.periods import calendar_month
from db.database import make_engine, make_sessionmaker
from db.invoicing import generate_invoice
from tests.actors import finance
from tests.integration.factories import add_plan, add_tenant
from tests.ui.finance_data import NEWEST_MONTH, scalar
from tests.ui.screens import open_in_browser

BIG_PLAN_MINOR = 1_234_567_89
"""$1,234,567.89 a month: "$1,234,567.89" is wider than a figure's column at Streamlit's own
size, in Home's row of five and the invoice's row of four."""

ONE_AMOUNT = re.compile(r"-?(\$|[A-Z]{3} )[\d,]+(\.\d+)?")
"""One amount as `billing_core.money.format_money` writes it ("$1,234.50", "-EUR 5.00")."""

FIGURES = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(figure => {
    const box = figure.getBoundingClientRect();
    const value = figure.querySelector('[data-testid="stMetricValue"]');
    const lineHeight = parseFloat(getComputedStyle(value).fontSize) * 1.6;
    const inside = [...figure.querySelectorAll('*')];
    return {
        text: figure.innerText,
        value: value.innerText,
        cut: inside.some(element => element.scrollWidth > element.clientWidth + 1),
        sticksOut: inside.some(element => element.getBoundingClientRect().right > box.right + 1),
        lines: Math.round(value.getBoundingClientRect().height / lineHeight + 0.4),
    };
})"""
"""Each figure: whether any part of it is cut (wider than its box) or drawn beyond its column,
and how many lines its value takes."""


@pytest.fixture(scope="module")
def big_invoice(demo_database_url) -> tuple[str, int]:
    """A tenant on a $1,234,567.89 plan with a draft for the month Home shows."""
    tenant_id = f"ui-big-{uuid.uuid4().hex[:8]}"
    month = scalar(demo_database_url, NEWEST_MONTH)
    engine = make_engine(demo_database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            add_plan(session, tenant_id, BIG_PLAN_MINOR)
            add_tenant(session, tenant_id, plans=[(date(2023, 1, 1), tenant_id)])
            invoice_id = generate_invoice(session, tenant_id, calendar_month(month),
                                          actor=finance("test")).invoice_id
    finally:
        engine.dispose()
    return tenant_id, invoice_id


def _figures(page, path: str) -> list[dict[str, object]]:
    open_in_browser(page, path)
    page.locator('[data-testid="stMetric"]').first.wait_for()
    page.evaluate("document.fonts.ready.then(() => true)")  # widths are the loaded font's
    return page.evaluate(FIGURES)


def _screens(tenant_id: str, invoice_id: int) -> list[str]:
    return ["/", f"/Invoice?tenant={tenant_id}&invoice={invoice_id}",
            f"/Tenant?tenant={tenant_id}", "/Preview"]


@pytest.mark.parametrize("width", [1024, 1280])
def test_no_figure_is_cut_or_drawn_over_its_neighbour(open_page, big_invoice, width):
    page = open_page(viewport={"width": width, "height": 900})
    for path in _screens(*big_invoice):
        figures = _figures(page, path)
        assert figures, path
        for figure in figures:
            assert not figure["cut"] and not figure["sticksOut"], (path, figure)


def test_at_1280_px_each_amount_is_on_one_line(open_page, big_invoice):
    page = open_page(viewport={"width": 1280, "height": 900})
    seen_big_total = False
    for path in _screens(*big_invoice):
        for figure in _figures(page, path):
            # An amount is never broken across lines (two currencies may wrap at " + ").
            if ONE_AMOUNT.fullmatch(figure["value"]):
                assert figure["lines"] == 1, (path, figure)
            seen_big_total |= figure["value"] == "$1,234,567.89"
    assert seen_big_total
