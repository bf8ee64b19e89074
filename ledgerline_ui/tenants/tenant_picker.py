"""Choosing a tenant: from the `tenant` query parameter, else a searchable picker.

Tenants read by name and id. The choice is written back to the URL, so a link
to the screen opens the same tenant. A screen that acts on money for a tenant
(Credits) asks for the choice with `preselect=False`: a tenant picked for you
is a credit given to the wrong customer one click later.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from db.reads.tenants import TenantSummary, list_tenants
from ledgerline_ui.tables.formatting import tenant_label
from ledgerline_ui.tables.plain_text import escape_markdown


def pick_tenant(sessions: sessionmaker[Session], *, key: str = "tenant",
                preselect: bool = True) -> TenantSummary | None:
    """The chosen tenant, or None while nothing matches (or, with `preselect=False`, while
    neither the link nor the user has chosen one); keeps `?tenant=` in step."""
    wanted = st.query_params.get("tenant")
    search_col, pick_col = st.columns([1, 2])
    search = search_col.text_input("Find a tenant", key=f"{key}_search",
                                   placeholder="name or id, e.g. umbrella")
    with sessions() as session:
        tenants = list_tenants(session, search=search or None, limit=200)
        if not search and wanted and all(t.tenant_id != wanted for t in tenants):
            # A linked tenant beyond the first page still opens (a search replaces it).
            tenants = [t for t in list_tenants(session, search=wanted, limit=200)
                       if t.tenant_id == wanted] + tenants
    by_id = {t.tenant_id: t for t in tenants}
    if not by_id:
        st.info(f"No tenant matches {escape_markdown(repr(search))}.")
        return None
    ids = list(by_id)
    index = ids.index(wanted) if wanted in by_id else (0 if preselect else None)
    chosen = pick_col.selectbox(
        "Tenant", ids, index=index, key=f"{key}_choice_{search}",
        placeholder="Choose a tenant",
        format_func=lambda tenant_id: tenant_label(tenant_id, by_id[tenant_id].name))
    if chosen is None:
        return None
    if st.query_params.get("tenant") != chosen:
        st.query_params["tenant"] = chosen
    return by_id[chosen]
