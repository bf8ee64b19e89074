"""Links between the screens, by page file (`st.page_link`), in one list.

The screens live in `pages/` and Streamlit finds them by file, relative to the
home script (`Home.py`). When a page runs as its own entry script
(`AppTest.from_file("pages/...")`, the way the screen tests open a page by
direct link), Streamlit knows no other page and `st.page_link` raises; then
`page_link` here writes a plain Markdown link to the same URL the app serves
(`pages/2_Invoice.py` -> `/Invoice?tenant=...`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError


@dataclass(frozen=True, slots=True)
class Screen:
    path: str
    label: str
    icon: str
    purpose: str


SCREENS: tuple[Screen, ...] = (
    Screen("pages/1_Invoices.py", "Invoices", ":material/list_alt:",
           "Every invoice, filtered by tenant, period and status; CSV export."),
    Screen("pages/2_Invoice.py", "Invoice", ":material/receipt_long:",
           "One invoice line by line, its audit trail; finalize, void, record payment, PDF."),
    Screen("pages/3_Preview.py", "Preview", ":material/calculate:",
           "Price an invoice step by step without saving anything."),
    Screen("pages/4_Credits.py", "Credits", ":material/redeem:",
           "Service credits and credit notes."),
    Screen("pages/5_Cost_allocation.py", "Cost allocation", ":material/pie_chart:",
           "Split shared infrastructure costs across tenants, to the cent."),
    Screen("pages/6_Month_end.py", "Month end", ":material/event_repeat:",
           "Invoice every active tenant for a month: dry run, then run."),
    Screen("pages/7_Tenant.py", "Tenant", ":material/apartment:",
           "A tenant's plans, usage, invoices, credits and balance."),
    Screen("pages/8_Audit_log.py", "Audit log", ":material/history:",
           "Who changed what, when, before and after."),
    Screen("pages/9_Reconciliation.py", "Reconciliation", ":material/rule:",
           "The old billing system's invoices checked against the rules; credit what it "
           "overcharged."),
    Screen("pages/10_Usage.py", "Usage", ":material/speed:",
           "Import metered usage files, see every import, settle late usage, daily usage "
           "against what is included."),
    Screen("pages/11_Tenants_and_plans.py", "Tenants and plans", ":material/manage_accounts:",
           "Find, create and edit tenants; the plan catalogue and its versions."),
)


def link_to(screen: Screen, *, label: str | None = None,
            query_params: dict[str, str] | None = None) -> None:
    """A link to one of the SCREENS (its own label and icon unless given)."""
    page_link(screen.path, label=label or screen.label, icon=screen.icon,
              query_params=query_params)


def page_link(path: str, *, label: str, icon: str | None = None,
              query_params: dict[str, str] | None = None) -> None:
    """`st.page_link` to the page file `path` ("pages/2_Invoice.py"); see the module docstring."""
    try:
        st.page_link(path, label=label, icon=icon, query_params=query_params)
    except StreamlitPageNotFoundError:
        prefix = f"{icon} " if icon else ""
        st.markdown(f"{prefix}[{label}]({page_url(path, query_params)})")


def page_url(path: str, query_params: dict[str, str] | None = None) -> str:
    """The URL the app serves a page file at: "pages/6_Month_end.py" -> "/Month_end"."""
    stem = Path(path).stem
    name = stem.split("_", 1)[1] if "_" in stem and stem.split("_", 1)[0].isdigit() else stem
    query = f"?{urlencode(query_params)}" if query_params else ""
    return f"/{name}{query}"
