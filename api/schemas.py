"""The JSON the API reads and writes, as pydantic models (they also make /openapi.json).

Requests are strict: an unknown field, a wrong type or a missing field is a 422
naming it. Money travels as a decimal string beside its currency, never as a
JSON number: `"amount": "10.50"`; `"amount": 10.5` is refused, because a JSON
number is a binary float to most clients and 0.1 + 0.2 is not 0.3 in one. The
string is read by `billing_core.money_text.parse_money`, the one door for typed
amounts (at most the currency's decimal places, not negative).

Responses are built as plain dicts by `api.views` (the hot read path skips model
validation); the response models below document them, and the tests hold every
answer to its model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from billing_core.usage_events import EVENT_FIELDS


def _money_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError('money is a decimal string such as "10.50", never a JSON number')
    return value


def _iso_day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not a date such as 2024-11-16") from None
    return value


IsoDay = Annotated[date, BeforeValidator(_iso_day), Field(examples=["2024-11-16"])]
MoneyText = Annotated[str, BeforeValidator(_money_text),
                      Field(min_length=1, max_length=40, examples=["200.00"],
                            description="A decimal string, never a JSON number.")]
TenantId = Annotated[str, Field(min_length=1, max_length=200, examples=["ent-globex-industries"])]
PeriodLabel = Annotated[str, Field(min_length=7, max_length=7, examples=["2024-01"],
                                   description="YYYY-MM: the tenant's billing period starting "
                                               "in that month.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class GenerateInvoiceIn(Strict):
    tenant: TenantId
    period: PeriodLabel


class CreditIn(Strict):
    tenant: TenantId
    amount: MoneyText
    currency: Annotated[str, Field(min_length=3, max_length=3, examples=["USD"])]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    invoice_id: int | None = Field(
        default=None, description="Aim the credit at this draft; by default the latest draft.")


class FinalizeIn(Strict):
    price_version: int = Field(
        ge=1, description="The `price_version` of the draft you reviewed (GET the invoice): if it "
                          "was re-priced since, finalizing is refused (409) with both totals.")


class TenantIn(Strict):
    tenant_id: Annotated[str, Field(min_length=1, max_length=200, examples=["ent-new-co"])]
    name: Annotated[str, Field(min_length=1, max_length=500, examples=["New Co"])]
    currency: Annotated[str, Field(min_length=3, max_length=3, examples=["USD"])]
    billing_anchor_day: Annotated[int, Field(ge=1, le=31)] = 1


class PlanChangeIn(Strict):
    starts_on: IsoDay = Field(description="The first day on the new plan (YYYY-MM-DD).")
    plan_id: str | None = Field(max_length=200, examples=["compute-1000"],
                                description="The plan from that day; null cancels.")


MAX_ID_CHARS = 200
"""The longest tenant id a request may name (the usage lane takes only what this allows)."""


class UsageEventIn(Strict):
    tenant_id: Annotated[str, Field(max_length=MAX_ID_CHARS, examples=["smb-wayne-tech"])]
    event_id: Annotated[str, Field(max_length=200, examples=["evt_01HV8J6Q"])]
    metric: Annotated[str, Field(max_length=100, examples=["storage"])]
    quantity: Annotated[int, Field(description="Whole base units (bytes, requests, ...), >= 0.")]
    occurred_at: Annotated[str, Field(max_length=64, examples=["2024-01-31T23:59:59Z"],
                                      description="ISO 8601 with a time zone.")]


MAX_USAGE_BATCH = 10_000


class UsageBatchIn(Strict):
    events: Annotated[list[UsageEventIn], Field(min_length=1, max_length=MAX_USAGE_BATCH)]


def canonical_usage_batch(events: Sequence[Mapping[str, object]]) -> str:
    """A batch as its idempotency fingerprint reads it, whichever way it came in (the route,
    `api.usage_lane`): the events' fields in order, no spaces."""
    return json.dumps({"events": [{field: event[field] for field in EVENT_FIELDS}
                                  for event in events]},
                      ensure_ascii=False, separators=(",", ":"))


# --- answers (documentation; `api.views` builds them) -------------------------------------


class MoneyOut(BaseModel):
    amount: str
    currency: str


class LineOut(BaseModel):
    line_no: int
    kind: str
    description: str
    amount: MoneyOut
    exact_amount: str = Field(description="The unrounded amount, as a decimal string.")
    explanation: str


class InvoiceSummaryOut(BaseModel):
    tenant: str
    invoice_id: int
    number: str | None
    period: str
    period_start: date
    period_end: date
    status: str
    subtotal: MoneyOut
    discount: MoneyOut
    credit: MoneyOut
    total: MoneyOut
    created_at: datetime
    finalized_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    priced_at: datetime | None = Field(description="When the draft was last priced.")
    price_version: int = Field(description="The draft's version; finalizing names it.")


class InvoiceOut(InvoiceSummaryOut):
    lines: list[LineOut]


class InvoicePageOut(BaseModel):
    invoices: list[InvoiceSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; "
                                                "null on the last page.")


class GeneratedOut(BaseModel):
    tenant: str
    period: str
    invoice_id: int
    created: bool = Field(description="False when the invoice already existed (200, not 201).")


class InvoiceStateOut(BaseModel):
    tenant: str
    invoice_id: int
    status: str
    number: str | None
    finalized_at: datetime | None


class CreditOut(BaseModel):
    tenant: str
    credit_id: int
    amount: MoneyOut
    invoice_id: int | None
    applied: MoneyOut
    to_balance: MoneyOut


class PlanSegmentOut(BaseModel):
    starts_on: date
    plan_id: str
    plan_name: str
    recurring_price: MoneyOut


class TenantOut(BaseModel):
    tenant: str
    name: str
    currency: str
    billing_anchor_day: int
    is_active: bool
    current_plan_id: str | None
    credit_balance: MoneyOut
    plan_history: list[PlanSegmentOut]
    invoices: list[InvoiceSummaryOut]


class NewTenantOut(BaseModel):
    tenant_id: str
    name: str
    currency: str
    billing_anchor_day: int
    is_active: bool


class RepricedOut(BaseModel):
    invoice_id: int
    period: str
    total_before: MoneyOut
    total_after: MoneyOut
    price_version: int


class PlanChangeOut(BaseModel):
    tenant: str
    starts_on: date
    plan_id: str | None
    repriced: list[RepricedOut] = Field(description="Drafts the change re-priced.")


class PreviewLineOut(BaseModel):
    kind: str
    description: str
    amount: MoneyOut
    exact_amount: str
    explanation: str


class PricedViewOut(BaseModel):
    invoice_id: int | None = Field(description="null: not generated yet.")
    status: str | None
    price_version: int | None
    lines: list[PreviewLineOut]
    total: MoneyOut


class PlanChangePreviewOut(BaseModel):
    tenant: str
    period: str
    before: PricedViewOut | None
    after: PricedViewOut | None
    difference: MoneyOut | None


class UsageCountsOut(BaseModel):
    received: int
    new: int
    duplicate: int
    conflict: int
    late: int


class UsageEventResultOut(BaseModel):
    position: int = Field(description="The event's place in the batch, from 1.")
    tenant_id: str
    event_id: str
    outcome: str = Field(description="stored, duplicate, conflict or late.")


class UsageBatchOut(BaseModel):
    import_id: int
    counts: UsageCountsOut
    repriced_drafts: int
    results: list[UsageEventResultOut]
