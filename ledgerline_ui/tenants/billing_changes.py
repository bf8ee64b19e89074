"""On the Tenant screen: "Change plan…", "Discounts…" and "Generate invoice…" (SPEC 11).

A change is previewed before it is made: the tenant's bill for the period the
change falls in, before and after, line by line with each line's sentence, and
the difference (`db.change_preview`, which runs the real operation and rolls it
back). Confirming makes the change; a draft it reaches is re-priced in the same
transaction, and a period already finalized refuses it with the operation's
sentence ("2024-10 is finalized for ent-acme-corp; correct it with a credit
note"). Finance sees the buttons; customer success and managers see the plan
and discount history only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import Permission
from billing_core.errors import InvalidInput
from billing_core.money_text import parse_money
from billing_core.periods import calendar_month
from db.change_preview import ChangePreview, PricedView, preview_change
from db.discounts import add_discount, end_discount, remove_discount
from db.invoicing import generate_invoice
from db.month_end import billing_period_in_month
from db.reads.plans import plan_catalogue
from db.reads.tenants import DiscountView, TenantSummary
from db.subscriptions import change_plan
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.setup import can, current_actor
from ledgerline_ui.tables.formatting import money
from ledgerline_ui.tables.plain_text import escape_markdown

FLOW_KEY = "billing_change_flow"
FLASH_KEY = "billing_change_flash"
CANCEL = "(no plan: cancel)"


def show_billing_changes(sessions: sessionmaker[Session], tenant: TenantSummary,
                         discounts: tuple[DiscountView, ...]) -> None:
    """The buttons and the open flow, for finance; a sentence for everyone else."""
    if flash := st.session_state.pop(FLASH_KEY, None):  # it quotes labels as typed
        st.success(escape_markdown(flash), icon=":material/check_circle:")
    flows = {"plan": ("Change plan…", Permission.CHANGE_SUBSCRIPTIONS, _plan_flow),
             "discounts": ("Discounts…", Permission.MANAGE_DISCOUNTS, _discount_flow),
             "generate": ("Generate invoice…", Permission.GENERATE_INVOICES, _generate_flow)}
    allowed = {key: flow for key, flow in flows.items() if can(flow[1])}
    if not allowed:
        st.caption("Finance changes plans and discounts; their history is below.")
        return
    for column, (key, (label, _, _)) in zip(st.columns(len(allowed)), allowed.items(),
                                             strict=True):
        if column.button(label, key=f"open_{key}", width="stretch"):
            st.session_state[FLOW_KEY] = key
    open_flow = allowed.get(st.session_state.get(FLOW_KEY, ""))
    if open_flow is not None:
        with st.container(border=True):
            open_flow[2](sessions, tenant, discounts)


def _plan_flow(sessions: sessionmaker[Session], tenant: TenantSummary,
               _: tuple[DiscountView, ...]) -> None:
    st.markdown("**Change plan**: the day chosen belongs to the new plan.")
    with sessions() as session:
        plans = [p for p in plan_catalogue(session, date.today()) if p.retired_at is None
                 and p.price.currency == tenant.currency]
    labels = {p.plan_id: f"{p.name} ({p.plan_id}) · {money(p.price)} a month" for p in plans}
    choice = st.selectbox("New plan", [*labels, CANCEL], key="change_plan_to",
                          format_func=lambda plan_id: labels.get(plan_id, plan_id))
    typed = st.text_input("From (YYYY-MM-DD)", value=date.today().isoformat(),
                          key="change_plan_from")
    plan_id = None if choice == CANCEL else choice
    ok, starts_on = run_action(lambda: parse_day(typed, "starts_on"))
    if not ok or starts_on is None:
        return

    def change(session: Session) -> object:
        return change_plan(session, tenant.tenant_id, starts_on, plan_id, actor=current_actor())

    what = f"{'cancel' if plan_id is None else plan_id} from {starts_on.isoformat()}"
    _preview_and_confirm(sessions, tenant, starts_on, change, what, "plan")


def _discount_flow(sessions: sessionmaker[Session], tenant: TenantSummary,
                   discounts: tuple[DiscountView, ...]) -> None:
    st.markdown("**Add a discount**: percentages come off first, compounding, then fixed "
                "amounts; it applies to periods starting inside its dates.")
    label = st.text_input("Label", key="discount_label", placeholder="Enterprise discount")
    kind = st.radio("Kind", ["Percentage", "Fixed amount"], horizontal=True,
                    key="discount_kind")
    value = st.text_input("Percent" if kind == "Percentage" else f"Amount ({tenant.currency})",
                          key="discount_value", placeholder="10" if kind == "Percentage"
                          else "50.00")
    from_col, until_col = st.columns(2)
    typed_from = from_col.text_input("Valid from (YYYY-MM-DD; empty: always)",
                                     key="discount_from")
    typed_until = until_col.text_input("Valid until, exclusive (empty: open)",
                                       key="discount_until")
    ok, window = run_action(lambda: (parse_day(typed_from, "valid_from"),
                                     parse_day(typed_until, "valid_until")))
    if not ok or window is None:
        return
    valid_from, valid_until = window

    def add(session: Session) -> object:
        amount = (None if kind == "Percentage"
                  else parse_money(value, tenant.currency, "amount"))
        return add_discount(session, tenant.tenant_id, label,
                            percent=value.strip() if kind == "Percentage" else None,
                            amount=amount, valid_from=valid_from, valid_until=valid_until,
                            actor=current_actor())

    on = valid_from or date.today()
    _preview_and_confirm(sessions, tenant, on, add, f"discount {label.strip()!r}", "discount")
    if discounts:
        _end_or_remove(sessions, tenant, discounts)


def _end_or_remove(sessions: sessionmaker[Session], tenant: TenantSummary,
                   discounts: tuple[DiscountView, ...]) -> None:
    st.markdown("**End or remove a discount**")
    by_position = {d.position: d for d in discounts}
    position = st.selectbox("Discount", list(by_position), key="discount_position",
                            format_func=lambda p: f"{p}. {by_position[p].label}")
    typed_end = st.text_input("Ends on, exclusive (YYYY-MM-DD; empty: open again)",
                              key="discount_end")
    ok, ends_on = run_action(lambda: parse_day(typed_end, "valid_until"))
    if not ok:
        return
    end_col, remove_col = st.columns(2)
    if end_col.button("End discount", key="end_discount", width="stretch"):
        _make(sessions, lambda s: end_discount(s, tenant.tenant_id, position, ends_on,
                                               actor=current_actor()),
              f"Discount {position} now ends {ends_on.isoformat() if ends_on else 'never'}.")
    if remove_col.button("Remove discount", key="remove_discount", width="stretch"):
        _make(sessions, lambda s: remove_discount(s, tenant.tenant_id, position,
                                                  actor=current_actor()),
              f"Discount {position} removed.")


def _generate_flow(sessions: sessionmaker[Session], tenant: TenantSummary,
                   _: tuple[DiscountView, ...]) -> None:
    st.markdown("**Generate the draft invoice** of a month (the billing period starting in "
                "it); asking again finds the same invoice.")
    month = st.text_input("Month", value=date.today().strftime("%Y-%m"), key="generate_month")
    if st.button("Generate draft", type="primary", key="generate_draft"):
        def generate(session: Session) -> object:
            period = billing_period_in_month(tenant.billing_anchor_day, calendar_month(month))
            return generate_invoice(session, tenant.tenant_id, period, actor=current_actor())
        _make(sessions, generate, f"Draft invoice for {month.strip()} is ready; see Invoices "
                                  "below.")


def _preview_and_confirm(sessions: sessionmaker[Session], tenant: TenantSummary, on: date,
                         change: Callable[[Session], object], what: str, key: str) -> None:
    preview_col, confirm_col = st.columns(2)
    if preview_col.button("Preview", key=f"preview_{key}", width="stretch"):
        def preview() -> ChangePreview:
            with sessions() as session:  # closed without a commit: nothing is saved
                return preview_change(session, tenant.tenant_id, on, change,
                                      actor=current_actor())
        ok, shown = run_action(preview)
        if ok and shown is not None:
            _show_preview(shown)
    if confirm_col.button(escape_markdown(f"Confirm: {what}"), type="primary",
                          key=f"confirm_{key}",
                          width="stretch"):
        _make(sessions, change, f"Saved: {what}.")


def _make(sessions: sessionmaker[Session], change: Callable[[Session], object],
          done: str) -> None:
    def run() -> object:
        with sessions.begin() as session:
            return change(session)
    ok, result = run_action(run)
    if ok:
        repriced = getattr(result, "repriced", ())
        st.session_state[FLASH_KEY] = done + "".join(
            # A re-priced invoice is a draft: named by its month ("draft 2024-11"), as
            # ledgerline_ui.invoices.invoice_names names drafts.
            f" Draft {draft.period_label} re-priced: "
            f"{money(draft.total_before)} -> {money(draft.total_after)}."
            for draft in repriced)
        st.session_state.pop(FLOW_KEY, None)
        st.rerun()


def _show_preview(preview: ChangePreview) -> None:
    st.markdown(f"**Period {preview.period.label}**, nothing saved yet:")
    before_col, after_col = st.columns(2)
    for column, title, view in ((before_col, "Before", preview.before),
                                (after_col, "After", preview.after)):
        with column:
            st.markdown(f"**{title}**: {money(view.total) if view else 'nothing to bill'}")
            if view is not None:
                st.dataframe(_lines(view), hide_index=True, width="stretch")
    if preview.difference is not None:
        st.info(f"Difference for {preview.period.label}: {_signed(preview.difference.amount)}"
                f"{money(abs(preview.difference))}.")


def _lines(view: PricedView) -> pd.DataFrame:
    return pd.DataFrame([{"Line": line.description, "Amount": money(line.amount),
                          "How": line.explanation} for line in view.lines],
                        columns=["Line", "Amount", "How"])


def parse_day(typed: str, field: str) -> date | None:
    """A typed ISO date (empty: None); refused naming `field` otherwise."""
    if not typed.strip():
        return None
    try:
        return date.fromisoformat(typed.strip())
    except ValueError:
        raise InvalidInput(field, f"{typed.strip()!r} is not a date like 2024-11-16") from None


def _signed(amount: Decimal) -> str:
    return "+" if amount >= 0 else "-"
