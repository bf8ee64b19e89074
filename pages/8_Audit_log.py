"""Audit log: every state change and money movement, filtered and paged, before and after shown."""

from datetime import date

import streamlit as st

from db.reads.audit import audit_actions, audit_actors, audit_log
from ledgerline_ui.back_office.audit_view import audit_table, changes, day_range
from ledgerline_ui.shell.setup import setup_page
from ledgerline_ui.tables.formatting import iso_date
from ledgerline_ui.tables.plain_text import escape_markdown

sessions = setup_page("Audit log", ":material/history:")
PAGE_SIZE = 50
ANY = "Any"

st.title("Audit log")
st.caption("Append-only: who changed what, when, from which state to which. Newest first.")

# The pickers' choices come from audit_filter_choices, a few rows the log's insert trigger keeps
# (migration 0012): read on every run, never stale and never a scan of the log.
with sessions() as session:
    actions, actors = audit_actions(session), audit_actors(session)

tenant_col, actor_col, action_col, dates_col = st.columns([2, 2, 2, 3])
tenant_id = tenant_col.text_input("Tenant id", value=st.query_params.get("tenant", ""),
                                  placeholder="e.g. ent-umbrella").strip()
actor = actor_col.selectbox("Actor", [ANY, *actors])
action = action_col.selectbox("Action", [ANY, *actions])
dates = dates_col.date_input("Dates (UTC)", value=(), min_value=date(2000, 1, 1),
                             help="Pick a first and a last day; leave empty for all time.")
first_day = dates[0] if len(dates) > 0 else None
last_day = dates[1] if len(dates) > 1 else first_day
since, until = day_range(first_day, last_day)

filters = (tenant_id, actor, action, since, until)
if st.session_state.get("audit_filters") != filters:
    st.session_state["audit_filters"] = filters
    st.session_state["audit_pages"] = [None]  # where each page starts (None: the newest)
pages = st.session_state["audit_pages"]

with sessions() as session:
    entries = audit_log(session, tenant_id=tenant_id or None,
                        actor=None if actor == ANY else actor,
                        action=None if action == ANY else action, since=since, until=until,
                        before_audit_id=pages[-1], limit=PAGE_SIZE + 1)
has_older = len(entries) > PAGE_SIZE
entries = entries[:PAGE_SIZE]

if not entries:
    st.info("No audit entries match these filters.")
else:
    st.caption(f"Page {len(pages)} · entries {entries[0].audit_id} to {entries[-1].audit_id}")
    st.dataframe(audit_table(entries), hide_index=True, width="stretch")

newer_col, older_col, _ = st.columns([1, 1, 6])
if newer_col.button("← Newer", disabled=len(pages) == 1):
    pages.pop()
    st.rerun()
if older_col.button("Older →", disabled=not has_older):
    pages.append(entries[-1].audit_id)
    st.rerun()

if entries:
    st.subheader("Before and after")
    by_id = {entry.audit_id: entry for entry in entries}
    chosen = by_id[st.selectbox(
        "Entry", list(by_id),
        format_func=lambda i: (f"#{i} · {iso_date(by_id[i].occurred_at)} · {by_id[i].action} · "
                               f"{by_id[i].entity} {by_id[i].entity_id} · {by_id[i].actor}"))]
    # Payloads hold what people typed (reasons, labels, file fields): text, never Markdown.
    st.markdown("\n".join(f"- {escape_markdown(line)}"
                          for line in changes(chosen.before, chosen.after))
                or "_Nothing recorded beyond the action itself._")
    before_col, after_col = st.columns(2)
    for column, title, values in ((before_col, "Before", chosen.before),
                                  (after_col, "After", chosen.after)):
        with column:
            st.markdown(f"**{title}**")
            if values is None:
                st.caption("Nothing recorded (the entry created or removed the row).")
            else:
                st.json(values, expanded=True)
