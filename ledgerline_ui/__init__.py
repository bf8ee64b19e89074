"""Shared pieces of the Streamlit screens.

Pages stay thin: they read input, call `billing_core` or `db`, and render. What
every page needs (setup, turning errors into messages, formatting) lives here,
so a page is a short script that reads top to bottom.
"""
