"""The audit table counts a long structure instead of writing it out (an allocation run's
25,000 shares made the Audit log take 3 s), and still shows a short one as JSON."""

from ledgerline_ui.back_office.audit_view import LISTED_ITEMS, changes


def test_a_long_list_is_counted_and_a_short_one_shown():
    shares = [{"tenant_id": f"t{i}", "amount_minor": i} for i in range(25_000)]
    assert changes(None, {"shares": shares}) == ["shares: 25,000 entries"]
    few = [1, 2]
    assert changes(None, {"weights": few}) == ["weights: [1, 2]"]
    wide = {f"k{i}": i for i in range(LISTED_ITEMS + 1)}
    assert changes(None, {"fields": wide}) == [f"fields: {LISTED_ITEMS + 1} entries"]
