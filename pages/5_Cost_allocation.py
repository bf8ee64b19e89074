"""Cost allocation: split a shared cost by stored usage or uploaded weights; save and browse
runs."""

from dataclasses import dataclass

import streamlit as st

from billing_core.access import Permission
from billing_core.allocation import split_by_weights
from billing_core.allocation_runs import AllocationMethod
from billing_core.errors import InvalidInput
from billing_core.money import CURRENCY_EXPONENTS
from billing_core.money_text import parse_money
from billing_core.periods import calendar_month
from db.allocation_runs import allocate_by_usage, allocate_by_weights
from db.reads.allocations import (
    ShareOrder,
    allocation_run,
    allocation_runs,
    allocation_trend,
    usage_metrics,
    usage_weights,
)
from db.reads.tenants import tenant_names
from ledgerline_ui.allocation.allocation_charts import (
    MAX_BARS,
    MAX_LINES,
    share_bar_chart,
    trend_chart,
)
from ledgerline_ui.allocation.allocation_split import (
    PAGE_SIZE,
    ShownSplit,
    calculated_split,
    saved_split,
)
from ledgerline_ui.allocation.allocation_summary import TIE_RULE, split_csv, summary_table
from ledgerline_ui.allocation.allocation_trend import trend_runs
from ledgerline_ui.allocation.allocation_view import shares_table
from ledgerline_ui.allocation.weights_csv import parse_weights_csv, tenant_ids_in
from ledgerline_ui.forms.form_errors import FieldSlots, read_fields, review_fields
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.setup import can, current_actor, for_live_session, setup_page
from ledgerline_ui.tables.formatting import iso_date, money
from ledgerline_ui.tables.plain_text import escape_markdown

sessions = setup_page("Cost allocation", ":material/pie_chart:")

BY_USAGE, BY_WEIGHTS = "By stored usage", "By uploaded weights (CSV)"


@dataclass(frozen=True)
class PendingSplit:
    label: str
    method: str
    metric: str | None
    period_label: str | None
    weights: dict
    allocation: object


TREND_RUNS = 24  # two years of monthly runs


def show_split(split: ShownSplit, key: str, file_stem: str) -> None:
    """Share and amount per tenant, a page at a time, beside a bar per tenant (the largest),
    the CSV of every tenant, and the rounding folded away (a sum that does not add up is shown
    outside the fold)."""
    check = split.check
    if not check.adds_up:
        st.error(check.sentence(), icon=":material/error:")
    table, bars = st.columns([2, 3])
    page_key = f"{key}_page"
    order = table.selectbox("Sort tenants", list(ShareOrder), key=f"{key}_order",
                            on_change=lambda: st.session_state.update({page_key: 1}),
                            help="Sorted across every page. A column header sorts this page "
                                 "only.")
    if st.session_state.get(page_key, 1) > split.page_count:  # a smaller split than before
        st.session_state[page_key] = 1
    page = (table.number_input(f"Page (of {split.page_count:,})", min_value=1,
                               max_value=split.page_count, step=1, key=page_key)
            if split.page_count > 1 else 1)
    rows = split.page(order, page)
    table.dataframe(summary_table(rows, check.total), hide_index=True, width="stretch")
    first = (page - 1) * PAGE_SIZE + 1
    table.caption(f"Tenants {first:,}-{first + len(rows) - 1:,} of {split.tenant_count:,}, "
                  f"{order.value}.")
    bars.plotly_chart(share_bar_chart(split.largest(MAX_BARS), split.tenant_count,
                                      check.total.currency),
                      key=f"{key}_bars", width="stretch")
    # Built on the click, only for a sign-in that still holds (see for_live_session).
    st.download_button("Download CSV", icon=":material/download:", mime="text/csv",
                       data=for_live_session(lambda: split_csv(split.read_every(), check.total)),
                       file_name=f"{file_stem}.csv", key=f"{key}_csv", on_click="ignore")
    with st.expander("How the cents were rounded"):
        if check.adds_up:
            st.success(check.sentence(), icon=":material/check_circle:")
        st.write(TIE_RULE)
        st.dataframe(shares_table(rows), hide_index=True, width="stretch")


def show_trend(run) -> None:
    """The largest tenants' parts of `run`'s shared cost across its latest saved runs (same
    label and currency), oldest first."""
    st.subheader("Across saved runs and months")
    with sessions() as session:
        trend = allocation_trend(session, run.label, run.total.currency, runs=TREND_RUNS,
                                 tenants=MAX_LINES)
        names = tenant_names(session, list(trend.amounts))
    if len(trend.points) < 2:
        st.caption(f"{escape_markdown(run.label)} has one saved run; each run saved under the "
                   "same name adds a point here.")
        return
    st.plotly_chart(trend_chart(trend_runs(trend), names, run.total.currency,
                                trend.tenant_count),
                    key="allocation_trend", width="stretch")


st.title("Cost allocation")
st.caption("Split a shared cost across tenants by weight with the largest-remainder method: "
           "each tenant gets the floor of its exact quota, the leftover cents go one each to "
           "the largest remainders, and the parts always add up to the total.")

# Managers read saved runs; finance comes to split a new cost.
new_tab, runs_tab = st.tabs(["New split", "Past runs"],
                            default=None if can(Permission.RUN_ALLOCATIONS) else "Past runs")

@st.cache_data(ttl=300, show_spinner=False)
def known_metrics() -> list[str]:
    # A picker's choices: a few minutes stale is harmless, and it scans all usage.
    with sessions() as session:
        return usage_metrics(session)


with new_tab:
    metrics = known_metrics()
    if not metrics:
        st.info("No usage is stored yet, so there is nothing to split by usage: upload or paste "
                "weights instead.", icon=":material/info:")
    method = st.radio("Split", [BY_USAGE, BY_WEIGHTS] if metrics else [BY_WEIGHTS],
                      horizontal=True)
    slots = FieldSlots("allocation")
    with st.form("allocation"):
        label_col, total_col, currency_col = st.columns([3, 1, 1])
        label = label_col.text_input("What is being split", value="Shared database cluster")
        slots.keep("label", label_col)
        total_text = total_col.text_input("Total", value="1000.00")
        slots.keep("total", total_col)
        currency = currency_col.selectbox("Currency", sorted(CURRENCY_EXPONENTS),
                                          index=sorted(CURRENCY_EXPONENTS).index("USD"))
        if method == BY_USAGE:
            metric_col, period_col = st.columns(2)
            metric = metric_col.selectbox("Usage metric", metrics)
            slots.keep("usage metric", metric_col)
            period_label = period_col.text_input("Period (month)", value="2024-11")
            slots.keep("period", period_col)
            upload, pasted = None, ""
        else:
            metric, period_label = None, None
            upload = st.file_uploader("Weights CSV (tenant_id,weight)", type=["csv"])
            pasted = st.text_area("…or paste the CSV", height=120,
                                  placeholder="tenant_id,weight\nent-acme-corp,33.33\n"
                                              "ent-globex-industries,33.33\nent-initech,33.34")
            slots.keep("weights CSV")
        calculated = st.form_submit_button("Calculate split", type="primary")

    if calculated:
        st.session_state.pop("allocation_saved", None)

        def named() -> str:
            if not label.strip():
                raise InvalidInput("label", "is empty; name the shared cost")
            return label.strip()

        def used_weights(session) -> dict | None:
            try:
                period = calendar_month(period_label)
            except InvalidInput:
                return None  # the period's own message says what to fix
            weights = usage_weights(session, metric, period.start, period.end)
            if not weights:
                raise InvalidInput("usage metric", f"no tenant used {metric} in {period.label}")
            return weights

        def given_weights(session) -> dict:
            content = upload.getvalue() if upload is not None else pasted
            if not content.strip():
                raise InvalidInput("weights CSV", "upload a file or paste the weights")
            return parse_weights_csv(content, tenant_names(session, tenant_ids_in(content)))

        def calculate() -> PendingSplit:
            """Every field checked at once (FieldsRefused names each bad one)."""
            with sessions() as session:
                checks = {"label": named,
                          "total": lambda: parse_money(total_text, currency, "total")}
                if method == BY_USAGE:
                    checks["period"] = lambda: calendar_month(period_label)
                    checks["usage metric"] = lambda: used_weights(session)
                else:
                    checks["weights CSV"] = lambda: given_weights(session)
                fields = read_fields(checks)
            weights = fields["usage metric" if method == BY_USAGE else "weights CSV"]
            return PendingSplit(fields["label"], method, metric, period_label, weights,
                                split_by_weights(fields["total"], weights))

        st.session_state["allocation_pending"] = review_fields(slots, calculate)

    pending = st.session_state.get("allocation_pending")
    if pending is not None:
        allocation = pending.allocation
        with sessions() as session:
            split = calculated_split(allocation,
                                     tenant_names(session, list(allocation.tenant_ids)))
        # The label, metric and period are as typed or stored: escaped for the Markdown below.
        basis = (escape_markdown(f"{pending.metric} usage in {pending.period_label}")
                 if pending.method == BY_USAGE else "uploaded weights")
        st.subheader(f"{escape_markdown(pending.label)}: {money(allocation.total)} across "
                     f"{split.tenant_count:,} tenants")
        st.caption(f"Split by {basis}. Not saved yet.")
        show_split(split, "pending", "allocation_preview")

        if not can(Permission.RUN_ALLOCATIONS):
            st.caption("Only finance saves a run; you can try splits here and read past runs.")
        elif st.button("Save this run…", key="save_allocation"):
            st.session_state["allocation_confirm"] = True
        if st.session_state.get("allocation_confirm") and can(Permission.RUN_ALLOCATIONS):
            st.warning(f"Save **{escape_markdown(pending.label)}**: {money(allocation.total)} "
                       f"split by {basis} across {split.tenant_count:,} tenants, recorded as "
                       f"{escape_markdown(current_actor())}?",
                       icon=":material/save:")
            confirm_col, cancel_col = st.columns([1, 5])
            if confirm_col.button("Confirm save", type="primary", key="confirm_allocation"):
                def save():
                    with sessions.begin() as session:
                        if pending.method == BY_USAGE:
                            period = calendar_month(pending.period_label)
                            return allocate_by_usage(session, pending.label, allocation.total,
                                                     pending.metric, period,
                                                     actor=current_actor())
                        return allocate_by_weights(session, pending.label, allocation.total,
                                                   pending.weights, actor=current_actor())
                ok, saved = run_action(save)
                st.session_state["allocation_confirm"] = False
                if ok:
                    st.session_state["allocation_saved"] = (saved.run_id,
                                                            saved.shares == allocation.amounts())
                    st.session_state["allocation_pending"] = None
                    st.rerun()
            if cancel_col.button("Cancel", key="cancel_allocation"):
                st.session_state["allocation_confirm"] = False
                st.rerun()

    saved = st.session_state.get("allocation_saved")
    if saved is not None:
        run_id, as_previewed = saved
        st.success(f"Saved as allocation run #{run_id}. Find it under Past runs.",
                   icon=":material/check_circle:")
        if not as_previewed:
            st.warning("Usage changed between the preview and the save; the stored run "
                       "(under Past runs) shows the split that was saved.")

with runs_tab:
    with sessions() as session:
        runs = allocation_runs(session, limit=50)
    if not runs:
        st.info("No allocation run has been saved yet.")
    else:
        by_id = {run.run_id: run for run in runs}
        chosen = st.selectbox(
            "Run", list(by_id),
            format_func=lambda i: (f"#{i} · {by_id[i].label} · {money(by_id[i].total)} · "
                                   f"{iso_date(by_id[i].created_at)}"))
        with sessions() as session:
            run = allocation_run(session, chosen)
        basis = (f"{escape_markdown(run.metric)} usage, {iso_date(run.period_start)} to "
                 f"{iso_date(run.period_end)} (end excluded)"
                 if run.method == AllocationMethod.USAGE else "weights given by hand")
        st.caption(f"Split by {basis}; saved by {escape_markdown(run.actor)} on "
                   f"{iso_date(run.created_at)}.")
        show_split(saved_split(sessions, run), f"run_{run.run_id}",
                   f"allocation_run_{run.run_id}")
        show_trend(run)
