"""Demo data: the five incident tenants of SPEC.md, a shared-cost split, and a few
hundred synthetic tenants with a month-end run, so a new user sees real data.

Each incident tenant reproduces its dispute's scenario and shows the correct
result (period 2024-11, the SPEC examples):

- ent-acme-corp: $600.00 plan upgraded to the $1000.00 compute tier on 2024-11-16
  -> $300.00 + $500.00 (not $502.00 for the new tier);
- ent-globex-industries: November generated five times -> one invoice;
- ent-initech: 10 % enterprise discount and a $50.00 promotional credit
  -> $850.00, not $855.00;
- ent-umbrella: October paid, November a draft; a $200.00 outage credit lands on
  November ($1000.00 -> $800.00), October untouched. The old system's November
  bill (OLD-2024-11-0005 in the legacy sample) shows the same $200.00 applied
  after payment: reconciliation shows that record as already granted (this
  credit, on the November invoice, its reason naming 2024-11-12) and proposes
  no second credit for the one outage;
- smb-wayne-tech: exactly 1 TB stored on a 1 TB plan -> no overage line.

Plus $1000.00 of shared database cost split 33.33 / 33.33 / 33.34 across
ent-acme-corp, ent-globex-industries and ent-initech -> $333.30 / $333.30 /
$333.40, and 300 synthetic tenants (seeded, so every load is identical):
October invoiced, mostly finalized and paid, November by a month-end run.

Demo accounts (local sign-in, created only with the demo data, never otherwise),
all with the password `DEMO_PASSWORD` ("ledgerline-demo"): finance@demo and
finance2@demo (finance; two, so one can approve the other's large credits),
cs@demo (customer success; it has one credit request waiting for approval) and
manager@demo (manager). The rows are written by the demo actors of those roles.
That password is public: the data is loaded only when asked for (`LEDGERLINE_DEMO=1`
at start, or `python -m db.demo_data`), never where real data lives.

Tenants, plans, plan changes, discounts and deactivations go through the same
operations as the screens (`db.tenants`, `db.plans`, `db.subscriptions`,
`db.discounts`): the demo has no second way in.

Loading is idempotent: a second load finds the data and changes nothing.
Dates live in the data; only audit and status timestamps are "now".
Run `python -m db.demo_data` to load it into the app's database.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Role
from billing_core.money import Money
from billing_core.month_end_runs import MonthEndRunStatus
from billing_core.periods import calendar_month
from billing_core.usage import BYTES_PER_GB, BYTES_PER_TB, UsagePlan
from db.allocation_runs import allocate_by_weights
from db.credit_requests import request_credit
from db.credits import issue_service_credit
from db.discounts import add_discount
from db.invoicing import generate_invoice, generate_invoices
from db.month_end import run_month_end
from db.plans import create_plan
from db.reconciliation import import_sample_legacy_file
from db.subscriptions import change_plan
from db.tenants import create_tenant, deactivate_tenant
from db.transitions import finalize_invoice, record_payment
from db.users import create_user

ACTOR = Actor("demo-data", Role.FINANCE)  # the loader itself: a system job acting as finance
FINANCE = Actor("finance@demo", Role.FINANCE)
SUPPORT = Actor("cs@demo", Role.CUSTOMER_SUCCESS)
DEMO_PASSWORD = "ledgerline-demo"
# email, display name, role
DEMO_ACCOUNTS = [
    ("finance@demo", "Fran (finance)", Role.FINANCE),
    ("finance2@demo", "Sam (finance, second approver)", Role.FINANCE),
    ("cs@demo", "Casey (customer success)", Role.CUSTOMER_SUCCESS),
    ("manager@demo", "Morgan (manager)", Role.MANAGER),
]
OCTOBER = calendar_month("2024-10")
NOVEMBER = calendar_month("2024-11")
SYNTHETIC_TENANTS = 300
_SEED = 20241101

# plan id, name, recurring price (minor units), usage terms or None:
# (metric, unit, base unit, base units per unit, included base units, price per unit)
PLANS = [
    ("compute-600", "Compute tier (legacy)", 60000, None),
    ("compute-1000", "Compute tier", 100000, None),
    ("storage-1tb", "Storage 1 TB", 10000,
     ("storage", "TB", "byte", BYTES_PER_TB, BYTES_PER_TB, Decimal("23.00"))),
    ("starter-49", "Starter", 4900,
     ("api_requests", "million requests", "request", 10**6, 10 * 10**6, Decimal("0.50"))),
    ("growth-199", "Growth", 19900,
     ("api_requests", "million requests", "request", 10**6, 100 * 10**6, Decimal("0.40"))),
    ("scale-499", "Scale", 49900,
     ("storage", "GB", "byte", BYTES_PER_GB, 500 * BYTES_PER_GB, Decimal("0.023"))),
]

INCIDENT_TENANTS = [
    ("ent-acme-corp", "Acme Corp"),
    ("ent-globex-industries", "Globex Industries"),
    ("ent-initech", "Initech"),
    ("ent-umbrella", "Umbrella Corporation"),
    ("smb-wayne-tech", "Wayne Tech"),
]

_NAME_PARTS = ["north", "blue", "lumen", "cedar", "quartz", "harbor", "atlas", "ember", "nimbus",
               "orbit", "pine", "river", "solar", "terra", "vertex", "willow", "zephyr", "delta"]


@dataclass(frozen=True, slots=True)
class DemoSummary:
    loaded: bool
    """False when the demo data was already there (nothing changed)."""
    tenants: int
    month_end_invoices_created: int


def load_demo_data(engine: Engine) -> DemoSummary:
    """Load the demo data unless it is there already; see the module docstring.

    The rows go in one transaction; the November month-end run follows (its own
    batches) unless a completed run for 2024-11 exists, so a load interrupted
    between the two finishes on the next call.
    """
    loaded = False
    with Session(engine) as session, session.begin():
        # One loader at a time: a second waits here, then finds the data.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('ledgerline.demo_data'))"))
        if not session.execute(text(
                "SELECT 1 FROM tenants WHERE tenant_id = 'ent-acme-corp'")).first():
            _insert_plans(session)
            _incident_scenarios(session)
            _invoice_october(session, _synthetic_tenants(session))
            _add_demo_accounts(session)
            loaded = True
        month_end_done = session.execute(text("""
            SELECT 1 FROM month_end_runs WHERE period_label = :label AND status = :completed
        """), {"label": NOVEMBER.label,
               "completed": MonthEndRunStatus.COMPLETED}).first() is not None
    created = 0
    if not month_end_done:
        created = run_month_end(engine, NOVEMBER.label, actor=ACTOR).invoices_created
    with Session(engine) as session, session.begin():  # the old system's bills, reconciled
        import_sample_legacy_file(session, actor=ACTOR)
    with Session(engine) as session:
        return DemoSummary(loaded, _tenant_count(session), created)


def demo_data_requested() -> bool:
    """True when the app's start is asked to load the demo data: `LEDGERLINE_DEMO=1`.

    Never by default: the demo accounts' password is public. The app's start
    (`ledgerline_ui.shell.setup`) asks this after `db.database.ensure_ready()`; the
    decision lives here, not in `db.database`, which imports no other db module.
    """
    return os.environ.get("LEDGERLINE_DEMO") == "1"


def _insert_plans(session: Session) -> None:
    existing = set(session.execute(text("SELECT plan_id FROM plans")).scalars())
    for plan_id, name, price_minor, usage in PLANS:
        if plan_id in existing:
            continue
        terms = None
        if usage is not None:
            metric, unit, base_unit, per_unit, included, unit_price = usage
            terms = UsagePlan(metric, unit, per_unit, included, Money(unit_price, "USD"),
                              base_unit)
        create_plan(session, plan_id, name, Money.from_minor_units(price_minor, "USD"),
                    usage=terms, actor=ACTOR)


def _add_tenant(session: Session, tenant_id: str, name: str, plans: list[tuple[date, str]],
                anchor_day: int = 1) -> None:
    create_tenant(session, tenant_id, name, "USD", anchor_day, actor=ACTOR)
    for starts_on, plan_id in plans:
        change_plan(session, tenant_id, starts_on, plan_id, actor=ACTOR)


def _add_usage(session: Session, rows: list[tuple[str, str, date, int]]) -> None:
    session.execute(text("""
        INSERT INTO usage_records (tenant_id, metric, used_on, quantity_base_units)
        VALUES (:tenant_id, :metric, :used_on, :quantity)
    """), [{"tenant_id": t, "metric": m, "used_on": d, "quantity": q} for t, m, d, q in rows])


def _incident_scenarios(session: Session) -> None:
    names = dict(INCIDENT_TENANTS)
    # Proration: upgrade on 2024-11-16 -> $300.00 + $500.00.
    _add_tenant(session, "ent-acme-corp", names["ent-acme-corp"],
                [(date(2024, 6, 1), "compute-600"), (date(2024, 11, 16), "compute-1000")])
    generate_invoice(session, "ent-acme-corp", NOVEMBER, actor=ACTOR)

    # Duplicate invoices: generated five times, one invoice.
    _add_tenant(session, "ent-globex-industries", names["ent-globex-industries"],
                [(date(2024, 1, 1), "compute-1000")])
    for _ in range(5):
        generate_invoice(session, "ent-globex-industries", NOVEMBER, actor=ACTOR)

    # Discount order: the promotional credit is listed first and still applies last.
    _add_tenant(session, "ent-initech", names["ent-initech"], [(date(2024, 1, 1), "compute-1000")])
    add_discount(session, "ent-initech", "Promotional credit", amount=Money("50.00", "USD"),
                 valid_from=date(2024, 11, 1), valid_until=date(2024, 12, 1), actor=ACTOR)
    add_discount(session, "ent-initech", "Enterprise discount", percent=Decimal(10), actor=ACTOR)
    generate_invoice(session, "ent-initech", NOVEMBER, actor=ACTOR)

    # Credit on a finalized invoice: October paid, November draft, the credit lands on November.
    # It is also the legacy record OLD-2024-11-0005's credit: reconciliation finds it there
    # (billing_core.already_granted) and does not propose it again.
    _add_tenant(session, "ent-umbrella", names["ent-umbrella"],
                [(date(2024, 1, 1), "compute-1000")])
    october = generate_invoice(session, "ent-umbrella", OCTOBER, actor=ACTOR).invoice_id
    finalize_invoice(session, "ent-umbrella", october, actor=FINANCE)
    record_payment(session, "ent-umbrella", october, actor=FINANCE)
    generate_invoice(session, "ent-umbrella", NOVEMBER, actor=ACTOR)
    issue_service_credit(session, "ent-umbrella", Money(Decimal("200.00"), "USD"),
                         "Outage 2024-11-12, 4 hours", actor=FINANCE,
                         idempotency_key="umbrella-outage-2024-11-12")

    # Overage at exactly the limit: 1 TB stored on a 1 TB plan -> no overage line.
    _add_tenant(session, "smb-wayne-tech", names["smb-wayne-tech"],
                [(date(2024, 1, 1), "storage-1tb")])
    _add_usage(session, [("smb-wayne-tech", "storage", date(2024, 11, 15), BYTES_PER_TB)])
    generate_invoice(session, "smb-wayne-tech", NOVEMBER, actor=ACTOR)

    allocate_by_weights(session, "Shared database cluster, 2024-11",
                        Money(Decimal("1000.00"), "USD"),
                        {"ent-acme-corp": Decimal("33.33"),
                         "ent-globex-industries": Decimal("33.33"),
                         "ent-initech": Decimal("33.34")}, actor=FINANCE)

    # Customer success asked for a goodwill credit; it waits for finance's approval.
    request_credit(session, "ent-acme-corp", Money(Decimal("150.00"), "USD"),
                   "Goodwill: slow support reply on ticket 4711", actor=SUPPORT,
                   idempotency_key="acme-goodwill-ticket-4711")


def _add_demo_accounts(session: Session) -> None:
    for email, name, role in DEMO_ACCOUNTS:
        create_user(session, email, role, DEMO_PASSWORD, display_name=name)


def _synthetic_tenants(session: Session) -> list[str]:
    rng = random.Random(_SEED)
    catalog = ["starter-49", "growth-199", "scale-499", "compute-1000"]
    tenant_ids, usage = [], []
    for number in range(1, SYNTHETIC_TENANTS + 1):
        tier = "ent" if number % 10 == 0 else "smb"
        tenant_id = f"{tier}-{rng.choice(_NAME_PARTS)}-{rng.choice(_NAME_PARTS)}-{number:03d}"
        first_plan = rng.choice(catalog)
        plans = [(date(2024, rng.randint(1, 9), 1), first_plan)]
        if rng.random() < 0.2:  # a plan change during November
            plans.append((date(2024, 11, rng.randint(2, 28)), rng.choice(catalog)))
        _add_tenant(session, tenant_id, tenant_id.replace("-", " ").title(), plans)
        for period in (OCTOBER, NOVEMBER):
            for day in (5, 15, 25):
                used_on = date(period.start.year, period.start.month, day)
                usage.append((tenant_id, "api_requests", used_on, rng.randint(0, 60) * 10**6))
                usage.append((tenant_id, "storage", used_on, rng.randint(0, 300) * BYTES_PER_GB))
        if rng.random() < 0.15:
            add_discount(session, tenant_id, "Annual commitment",
                         percent=Decimal(rng.choice([5, 10, 15])), actor=ACTOR)
        tenant_ids.append(tenant_id)
    _add_usage(session, usage)
    # A few tenants left: inactive, so month-end skips them.
    for tenant_id in tenant_ids[-5:]:
        deactivate_tenant(session, tenant_id, actor=ACTOR)
    return tenant_ids


def _invoice_october(session: Session, tenant_ids: list[str]) -> None:
    """October: every synthetic tenant invoiced; most finalized, many of those paid."""
    result = generate_invoices(session, tenant_ids, OCTOBER, actor=ACTOR)
    rng = random.Random(_SEED + 10)
    for tenant_id in sorted(result.created):
        invoice_id = result.invoice_ids[tenant_id]
        if rng.random() < 0.9:
            finalize_invoice(session, tenant_id, invoice_id, actor=FINANCE)
            if rng.random() < 0.7:
                record_payment(session, tenant_id, invoice_id, actor=FINANCE)


def _tenant_count(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM tenants")).scalar_one()


def main() -> None:
    from db.database import get_engine, migrate_to_head

    engine = get_engine()
    migrate_to_head(engine)
    summary = load_demo_data(engine)
    if summary.loaded:
        print(f"Demo data loaded: {summary.tenants} tenants, "
              f"{summary.month_end_invoices_created} invoices from the 2024-11 month-end run.")
    else:
        print(f"Demo data already present ({summary.tenants} tenants); nothing changed.")


if __name__ == "__main__":
    main()
