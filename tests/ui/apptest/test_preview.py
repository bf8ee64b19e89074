"""Preview screen: a calculator that prices step by step and writes nothing."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def _texts(app) -> str:
    parts = [m.value for m in app.markdown] + [s.value for s in app.subheader]
    parts += [w.value for w in app.warning] + [e.value for e in app.error]
    parts += [m.value for m in app.metric]
    for frame in [*app.dataframe, *app.table]:
        parts.append(frame.value.to_string())
    return "\n".join(str(p) for p in parts)


def _frame(app, column: str):
    """The first table on screen with `column` (the discounts editor is a grid)."""
    frame = next(f.value for f in [*app.dataframe, *app.table] if column in f.value.columns)
    return frame.replace(r"\\(.)", r"\1", regex=True)  # a table's cells are Markdown-escaped


def _row_counts(url) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        counts = connection.execute(text(
            "SELECT (SELECT count(*) FROM invoices), (SELECT count(*) FROM audit_log)")).one()
    engine.dispose()
    return tuple(counts)


def test_defaults_show_the_initech_case_correct_and_in_the_old_order(open_screen):
    app = open_screen("pages/3_Preview.py")

    headings = [s.value for s in app.subheader]
    assert "Correct price: $850.00" in headings
    assert "Old order: $855.00" in headings
    lines = _frame(app, "How it is computed")
    assert list(lines["Line"]) == ["new plan", "Enterprise discount", "Promotional credit"]
    assert list(lines["Amount"]) == ["$1,000.00", "-$100.00", "-$50.00"]
    assert "The old order charged $5.00 more than the correct $850.00." in app.warning[0].value
    legacy = _frame(app, "How")
    assert list(legacy["Amount"]) == ["-$50.00", "-$95.00", "$855.00"]


def test_an_upgrade_mid_period_with_one_byte_over_is_priced_to_the_cent(open_screen):
    from datetime import date

    app = open_screen("pages/3_Preview.py")
    inputs = {t.label: t for t in app.text_input}
    inputs["Old price per month"].input("600.00")
    inputs["Used quantity (in the billing unit)"].input("1.000000000001")
    app.date_input[0].set_value(date(2024, 11, 16))
    app.button[0].click().run()

    assert not app.exception
    lines = _frame(app, "How it is computed")
    assert list(lines["Amount"]) == ["$300.00", "$500.00", "$0.00", "-$80.00", "-$50.00"]
    assert "0.000000000023" in list(lines["Exact"])
    assert "Correct price: $670.00" in _texts(app)


def test_bad_amount_names_the_field_and_writes_nothing(open_screen, demo_database_url):
    before = _row_counts(demo_database_url)
    app = open_screen("pages/3_Preview.py")
    {t.label: t for t in app.text_input}["New price per month"].input("12,3x")
    app.button[0].click().run()

    assert [e.value for e in app.error] == ["new price: '12,3x' is not a number"]
    assert not any("Correct price" in s.value for s in app.subheader)
    assert _row_counts(demo_database_url) == before


def test_calculate_names_every_wrong_field_at_once(open_screen):
    app = open_screen("pages/3_Preview.py")
    inputs = {t.label: t for t in app.text_input}
    inputs["Period (month)"].input("November")
    inputs["New price per month"].input("12,3x")
    inputs["Used quantity (in the billing unit)"].input("lots")
    app.button[0].click().run()

    assert not app.exception
    assert [e.value for e in app.error] == ["period: 'November' is not a month like 2024-01",
                                            "new price: '12,3x' is not a number",
                                            "used quantity: 'lots' is not a number"]
    assert not any("Correct price" in s.value for s in app.subheader)
