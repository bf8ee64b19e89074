"""Read side for the screens: every query a page needs, as plain frozen values.

One module per screen area: `invoices` (the list, its count, one invoice in
detail), `periods` (the months there are and a month's totals, for Home),
`tenants` (the tenant list and a tenant's whole story), `credits` (credits and
credit notes as screens show them), `audit` (the audit log and its pickers),
`allocations` (cost allocation runs and their inputs) and `month_end_runs`.

Pages contain no SQL; they call these functions with a Session and render the
result. Values are plain Python (str, int, date, datetime) and money is
`billing_core.money.Money`, made from the stored minor units; totals across
rows are added with Money in Python, never in SQL (one place does money math).
"""
