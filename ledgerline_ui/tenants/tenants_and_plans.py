"""The "Tenants and plans" screen: the tenant list, new and edited tenants, the plan catalogue.

Everything typed goes to one operation of `db.tenants` / `db.plans` in its own
transaction; a refusal is the operation's own sentence, naming the field, and
nothing is written. Finance sees the forms; other roles see the lists only.
Names typed by people are shown in table cells or escaped (STYLE 13).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import Permission
from billing_core.errors import InvalidInput
from billing_core.money_text import parse_money
from db.change_preview import run_and_undo
from db.plans import create_plan, find_plan, new_plan_version, retire_plan
from db.reads.plans import plan_catalogue
from db.reads.tenants import list_tenants
from db.subscriptions import PlanChangeResult, move_plan_version
from db.tenants import (
    change_anchor_day,
    create_tenant,
    deactivate_tenant,
    reactivate_tenant,
    rename_tenant,
)
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.page_links import page_link
from ledgerline_ui.shell.setup import can, current_actor
from ledgerline_ui.tables.formatting import iso_date, money
from ledgerline_ui.tables.plain_text import escape_markdown
from ledgerline_ui.tenants.billing_changes import parse_day

FLASH_KEY = "tenants_and_plans_flash"
TENANT_PAGE = "pages/7_Tenant.py"


def show_flash() -> None:
    if flash := st.session_state.pop(FLASH_KEY, None):  # it quotes ids and names as typed
        st.success(escape_markdown(flash), icon=":material/check_circle:")


def show_tenants(sessions: sessionmaker[Session]) -> None:
    st.subheader("Tenants")
    search = st.text_input("Search tenants", key="tenants_search",
                           placeholder="id or name, e.g. acme")
    with sessions() as session:
        tenants = list_tenants(session, search=search or None, limit=500)
    st.dataframe(pd.DataFrame([
        {"Tenant": t.tenant_id, "Name": t.name, "Currency": t.currency,
         "Anchor day": t.billing_anchor_day, "Status": "active" if t.is_active else "inactive",
         "Current plan": t.current_plan_id or ""} for t in tenants],
        columns=["Tenant", "Name", "Currency", "Anchor day", "Status", "Current plan"]),
        hide_index=True, width="stretch")
    if not can(Permission.MANAGE_TENANTS):
        st.caption("Finance creates and edits tenants.")
        return
    new_col, edit_col = st.columns(2, gap="large")
    with new_col:
        _new_tenant_form(sessions)
    with edit_col:
        _edit_tenant_form(sessions, {t.tenant_id: t for t in tenants})


def _new_tenant_form(sessions: sessionmaker[Session]) -> None:
    with st.form("new_tenant", clear_on_submit=False):
        st.markdown("**New tenant**")
        tenant_id = st.text_input("Tenant id", placeholder="ent-new-co", key="new_tenant_id")
        name = st.text_input("Name", key="new_tenant_name")
        currency = st.text_input("Currency", value="USD", key="new_tenant_currency")
        anchor_day = st.number_input("Billing anchor day", value=1, step=1,
                                     key="new_tenant_anchor")
        if not st.form_submit_button("Create tenant", type="primary"):
            return

    def create():
        with sessions.begin() as session:
            return create_tenant(session, tenant_id, name, currency, int(anchor_day),
                                 actor=current_actor())
    ok, tenant = run_action(create)
    if ok and tenant is not None:
        st.session_state[FLASH_KEY] = (f"Tenant {tenant.tenant_id} created. Give it a plan on "
                                       "the Tenant screen (Change plan…).")
        st.rerun()


def _edit_tenant_form(sessions: sessionmaker[Session], tenants: dict) -> None:
    if not tenants:
        return
    chosen = st.selectbox("Edit tenant", list(tenants), key="edit_tenant_choice")
    tenant = tenants[chosen]
    with st.form("edit_tenant"):
        name = st.text_input("Name", value=tenant.name, key=f"edit_name_{chosen}")
        anchor_day = st.number_input("Billing anchor day (only before the first invoice)",
                                     value=tenant.billing_anchor_day, step=1,
                                     key=f"edit_anchor_{chosen}")
        active = st.checkbox("Active (month end bills it)", value=tenant.is_active,
                             key=f"edit_active_{chosen}")
        if not st.form_submit_button("Save changes"):
            page_link(TENANT_PAGE, label="Open on the Tenant screen",
                      icon=":material/apartment:", query_params={"tenant": chosen})
            return

    def save() -> list[str]:
        done = []
        with sessions.begin() as session:
            actor = current_actor()
            if name.strip() != tenant.name:
                rename_tenant(session, chosen, name, actor=actor)
                done.append("renamed")
            if int(anchor_day) != tenant.billing_anchor_day:
                change_anchor_day(session, chosen, int(anchor_day), actor=actor)
                done.append(f"anchored on day {int(anchor_day)}")
            if active != tenant.is_active:
                (reactivate_tenant if active else deactivate_tenant)(session, chosen, actor=actor)
                done.append("reactivated" if active else "deactivated")
        return done
    ok, done = run_action(save)
    if ok:
        st.session_state[FLASH_KEY] = (f"Tenant {chosen}: {', '.join(done)}." if done
                                       else f"Tenant {chosen}: nothing changed.")
        st.rerun()


def show_plans(sessions: sessionmaker[Session]) -> None:
    st.subheader("Plan catalogue")
    st.caption("A price never changes once set: a new price is a new version, and invoices "
               "keep the version they used. A retired plan takes no new subscriptions.")
    with sessions() as session:
        plans = plan_catalogue(session, datetime.now(UTC).date())
    st.dataframe(pd.DataFrame([
        {"Plan": p.plan_id, "Name": p.name, "Version": p.version, "Versions of": p.first_plan_id,
         "Price per month": money(p.price), "Usage": p.usage_terms,
         "Tenants now": p.tenants_now, "Retired": iso_date(p.retired_at)} for p in plans],
        columns=["Plan", "Name", "Version", "Versions of", "Price per month", "Usage",
                 "Tenants now", "Retired"]),
        hide_index=True, width="stretch")
    if not can(Permission.MANAGE_PLANS):
        st.caption("Finance creates plans and their versions.")
        return
    new_col, version_col = st.columns(2, gap="large")
    with new_col:
        _new_plan_form(sessions)
    with version_col:
        _new_version_form(sessions, [p.plan_id for p in plans if p.retired_at is None])
    if can(Permission.CHANGE_SUBSCRIPTIONS):
        _move_tenants(sessions, [p.plan_id for p in plans],
                      [p.plan_id for p in plans if p.retired_at is None])


def _new_plan_form(sessions: sessionmaker[Session]) -> None:
    with st.form("new_plan"):
        st.markdown("**New plan**")
        plan_id = st.text_input("Plan id", placeholder="compute-1000", key="new_plan_id")
        name = st.text_input("Name", key="new_plan_name")
        currency = st.text_input("Currency", value="USD", key="new_plan_currency")
        price = st.text_input("Price per month", placeholder="1,000.00", key="new_plan_price")
        if not st.form_submit_button("Create plan", type="primary"):
            return

    def create():
        with sessions.begin() as session:
            amount = parse_money(price, currency.strip().upper() or "USD", "price",
                                 allow_negative=True)
            return create_plan(session, plan_id, name, amount, actor=current_actor())
    ok, plan = run_action(create)
    if ok and plan is not None:
        st.session_state[FLASH_KEY] = f"Plan {plan.plan_id} created at {money(plan.price)}."
        st.rerun()


def _new_version_form(sessions: sessionmaker[Session], plan_ids: list[str]) -> None:
    if not plan_ids:
        return
    with st.form("plan_version"):
        st.markdown("**New price: a new version, or retire**")
        plan_id = st.selectbox("Plan", plan_ids, key="version_plan")
        price = st.text_input("New price per month", key="version_price")
        new_version = st.form_submit_button("Create version")
        retire = st.form_submit_button("Retire plan")
    if not (new_version or retire):
        return

    def change():
        with sessions.begin() as session:
            if retire:
                return retire_plan(session, plan_id, actor=current_actor())
            currency = _plan_currency(session, plan_id)
            return new_plan_version(session, plan_id, parse_money(price, currency, "price"),
                                    actor=current_actor())
    ok, plan = run_action(change)
    if ok and plan is not None:
        st.session_state[FLASH_KEY] = (
            f"Plan {plan.plan_id} retired." if retire else
            f"Plan {plan.plan_id} (version {plan.version}) created at {money(plan.price)}; "
            "move tenants to it on the Tenant screen.")
        st.rerun()


def _plan_currency(session: Session, plan_id: str) -> str:
    return find_plan(session, plan_id).price.currency



def _move_tenants(sessions: sessionmaker[Session], plan_ids: list[str],
                  open_plan_ids: list[str]) -> None:
    """Everyone on one plan version to another from a day (a price rise), previewed first as
    a count and a money difference (the move run in a rolled-back savepoint)."""
    st.markdown("**Move every tenant on a plan to another version**")
    from_col, to_col, day_col = st.columns(3)
    from_plan = from_col.selectbox("From plan", plan_ids, key="move_from")
    to_plan = to_col.selectbox("To plan", open_plan_ids, key="move_to")
    typed = day_col.text_input("From day (YYYY-MM-DD)", key="move_day")
    preview_col, confirm_col = st.columns(2)
    previewing = preview_col.button("Preview the move", key="move_preview", width="stretch")
    confirming = confirm_col.button("Confirm the move", type="primary", key="move_confirm",
                                    width="stretch")
    if not (previewing or confirming):
        return

    def move() -> PlanChangeResult:
        starts_on = parse_day(typed, "starts_on")
        if starts_on is None:
            raise InvalidInput("starts_on", "is empty; give the day the move takes effect")
        if previewing:
            with sessions() as session:  # closed without a commit: nothing is saved
                return run_and_undo(session, lambda: move_plan_version(
                    session, from_plan, to_plan, starts_on, actor=current_actor()))
        with sessions.begin() as session:
            return move_plan_version(session, from_plan, to_plan, starts_on,
                                     actor=current_actor())
    ok, result = run_action(move)
    if not ok or result is None:
        return
    difference = ", ".join(money(amount) for amount in result.difference.values()) or "nothing"
    summary = (f"{result.tenants:,} tenants on {from_plan}; {len(result.repriced):,} drafts "
               f"re-priced, a difference of {difference}")
    if previewing:
        st.info(escape_markdown(f"Preview, nothing saved: {summary}."))
    else:
        st.session_state[FLASH_KEY] = f"Moved to {to_plan}: {summary}."
        st.rerun()
