"""billing_core: Ledgerline's billing rules as pure Python values and functions.

Nothing here touches a database, a screen or the network; the package
imports only the standard library (a unit test checks), so every rule in
SPEC.md can be read and tested on its own. One module per concept:

- ``errors``      the error hierarchy (field / invoice / status carried as data)
- ``money``       Money, the one number door, the one rounding place
- ``periods``     half-open billing periods, anchored months
- ``lines``       InvoiceLine and LineKind (re-exported by ``invoices``)
- ``proration``   plan segments priced by days (or seconds)
- ``discounts``   percentages first, then fixed amounts, never below zero
- ``usage``       integer base units and strict overage
- ``allocation``  largest-remainder split of a shared cost
- ``credits``     where a credit may land; credit-note limits
- ``states``      the invoice state table
- ``invoices``    price_invoice: all of the above, lines summing to the total
"""
