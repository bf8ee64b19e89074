"""Cost allocation screen: the SPEC 7 split, its check and charts, saving a run, bad input."""

from __future__ import annotations

import re

import pytest

from tests.ui.finance_data import scalar

SPEC_WEIGHTS = ("tenant_id,weight\nent-acme-corp,33.33\nent-globex-industries,33.33\n"
                "ent-initech,33.34\n")


def tenants_in(caption: str) -> int:
    """25000 from "Tenants 1-50 of 25,000, largest amount first."."""
    return int(re.search(r" of ([\d,]+),", caption).group(1).replace(",", ""))


def _runs(url) -> int:
    return scalar(url, "SELECT count(*) FROM allocation_runs")


def _open_weights(open_screen):
    app = open_screen("pages/5_Cost_allocation.py")
    app.radio[0].set_value("By uploaded weights (CSV)").run()
    return app


def _calculate(app, weights: str, total: str = "1000.00", label: str = "Shared database"):
    inputs = {t.label: t for t in app.text_input}
    inputs["What is being split"].input(label)
    inputs["Total"].input(total)
    app.text_area[0].input(weights)
    next(b for b in app.button if b.label == "Calculate split").click()
    return app.run()


def _shares(app):
    return next(f.value for f in app.dataframe if "Exact quota" in f.value.columns)


def test_spec_split_shows_each_part_the_sum_check_and_both_charts(open_screen, demo_database_url):
    before = _runs(demo_database_url)
    app = _calculate(_open_weights(open_screen), SPEC_WEIGHTS)

    shares = _shares(app)  # in the summary's order: largest first, then by tenant id
    assert list(shares["Amount"]) == ["$333.40", "$333.30", "$333.30"]
    assert list(shares["Tenant"]) == ["Initech (ent-initech)", "Acme Corp (ent-acme-corp)",
                                      "Globex Industries (ent-globex-industries)"]
    new_split = app.tabs[0]
    assert [s.value for s in new_split.success] == [
        "The parts add up to $1,000.00, exactly the total $1,000.00 "
        "(floors plus 0 leftover minor units)."]
    assert len(new_split.get("plotly_chart")) == 1  # a bar per tenant (no waterfall)
    assert _runs(demo_database_url) == before, "calculating must not save"


def test_equal_weights_give_the_leftover_cent_to_the_smallest_id(open_screen):
    app = _calculate(_open_weights(open_screen),
                     "ent-initech,1\nent-acme-corp,1\nent-globex-industries,1\n")
    shares = _shares(app).set_index("Tenant")
    assert shares.loc["Acme Corp (ent-acme-corp)", "Amount"] == "$333.34"
    assert shares.loc["Acme Corp (ent-acme-corp)", "Extra minor unit"] == "+1"
    assert shares.loc["Initech (ent-initech)", "Amount"] == "$333.33"
    assert "(floors plus 1 leftover minor unit)" in app.success[0].value


def test_saving_after_confirmation_stores_the_run_with_its_shares(open_screen, demo_database_url):
    label = "UI test: support contract split"
    app = _calculate(_open_weights(open_screen), SPEC_WEIGHTS, label=label)
    app.button(key="save_allocation").click().run()
    assert scalar(demo_database_url, "SELECT count(*) FROM allocation_runs WHERE label = :l",
                  l=label) == 0, "saving needs the confirmation"
    app.button(key="confirm_allocation").click().run()

    run_id = scalar(demo_database_url, "SELECT run_id FROM allocation_runs WHERE label = :l",
                    l=label)
    assert f"Saved as allocation run #{run_id}." in app.success[0].value
    assert scalar(demo_database_url, "SELECT string_agg(amount_minor::text, ',' ORDER BY tenant_id)"
                  " FROM allocation_shares WHERE run_id = :r", r=run_id) == "33330,33330,33340"


def test_usage_split_covers_every_tenant_with_usage_and_adds_up(open_screen):
    app = open_screen("pages/5_Cost_allocation.py")
    {t.label: t for t in app.text_input}["Total"].input("12345.67")
    next(b for b in app.button if b.label == "Calculate split").click()
    app.run()
    assert not app.error
    assert "exactly the total $12,345.67" in app.success[0].value
    [shown] = [c.value for c in app.caption if c.value.startswith("Tenants 1-50 of ")]
    assert tenants_in(shown) > 250  # every tenant with usage...
    assert len(_shares(app)) == 50  # ...a page of them at a time


@pytest.mark.parametrize(("weights", "total", "message"), [
    pytest.param("tenant_id,weight\nent-acme-corp,1\nent-initech,-2\n", "1000.00",
                 "weights CSV: line 3: weight -2 for 'ent-initech' is negative; "
                 "weights must be zero or more", id="negative-weight"),
    pytest.param("ent-nobody,1\n", "1000.00", "weights CSV: line 1: unknown tenant 'ent-nobody'",
                 id="unknown-tenant"),
    pytest.param(SPEC_WEIGHTS, "12,3x", "total: '12,3x' is not a number", id="bad-total"),
])
def test_bad_input_names_the_problem_and_saves_nothing(open_screen, demo_database_url, weights,
                                                       total, message):
    before = _runs(demo_database_url)
    app = _calculate(_open_weights(open_screen), weights, total=total)
    assert [e.value for e in app.error] == [message]
    assert not app.tabs[0].get("plotly_chart")
    assert _runs(demo_database_url) == before


@pytest.fixture
def no_stored_usage(monkeypatch):
    import streamlit as st

    import db.reads.allocations

    monkeypatch.setattr(db.reads.allocations, "usage_metrics", lambda session: [])
    st.cache_data.clear()  # the page caches the metric list
    yield
    st.cache_data.clear()


def test_without_stored_usage_only_weights_are_offered(open_screen, no_stored_usage):
    app = open_screen("pages/5_Cost_allocation.py")

    assert any("No usage is stored yet" in i.value for i in app.info)
    assert app.radio[0].options == ["By uploaded weights (CSV)"]
    assert not [s for s in app.selectbox if s.label == "Usage metric"]
    app = _calculate(app, SPEC_WEIGHTS)
    assert list(_shares(app)["Amount"]) == ["$333.40", "$333.30", "$333.30"]


def test_calculate_names_every_wrong_field_at_once(open_screen, demo_database_url):
    before = _runs(demo_database_url)
    app = _calculate(_open_weights(open_screen), "", total="12,3x", label=" ")
    assert not app.exception
    assert [e.value for e in app.error] == ["label: is empty; name the shared cost",
                                            "total: '12,3x' is not a number",
                                            "weights CSV: upload a file or paste the weights"]
    assert not app.tabs[0].get("plotly_chart")
    assert _runs(demo_database_url) == before


def test_a_bad_period_by_usage_is_named_beside_a_bad_total(open_screen):
    app = open_screen("pages/5_Cost_allocation.py")
    inputs = {t.label: t for t in app.text_input}
    inputs["Total"].input("-")
    inputs["Period (month)"].input("2024-13")
    next(b for b in app.button if b.label == "Calculate split").click()
    app.run()
    assert not app.exception
    assert [e.value for e in app.error] == ["total: '-' is not a number",
                                            "period: '2024-13' is not a month like 2024-01"]
