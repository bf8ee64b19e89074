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

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _money_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError('money is a decimal string such as "10.50", never a JSON number')
    return value


MoneyText = Annotated[str, BeforeValidator(_money_text),
                      Field(min_length=1, max_length=40, examples=["200.00"],
                            description="A decimal string, never a JSON number.")]
TenantId = Annotated[str, Field(min_length=1, max_length=200, examples=["ent-globex-industries"])]
PeriodLabel = Annotated[str, Field(min_length=7, max_length=7, examples=["2024-01"],
                                   description="The calendar month YYYY-MM the period starts in.")]


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
