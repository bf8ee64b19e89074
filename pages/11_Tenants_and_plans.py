"""Tenants and plans: find tenants, create and edit them; the plan catalogue and its versions."""

import streamlit as st

from ledgerline_ui.shell.setup import setup_page
from ledgerline_ui.tenants.tenants_and_plans import show_flash, show_plans, show_tenants

sessions = setup_page("Tenants and plans", ":material/manage_accounts:")

st.title("Tenants and plans")
show_flash()
show_tenants(sessions)
show_plans(sessions)
