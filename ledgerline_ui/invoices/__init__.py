"""Invoices: the list, the invoice hub, its documents, names and actions."""
