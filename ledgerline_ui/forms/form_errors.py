"""A form's problems, each beside its field, all at once, scrolled into view.

A form used to stop at its first bad field and say so below the form, often below the
window's edge, so Review seemed to do nothing. Here Review reads every field
(`read_fields`), collects what each one's check refuses (`InvalidInput` names the field),
and the screen shows each sentence in the slot it kept right under that field
(`FieldSlots`), then scrolls the first one into view. Nothing is reviewed until every
field is right, so nothing is written either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import streamlit as st

from billing_core.errors import BillingError, InvalidInput
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.tables.plain_text import escape_markdown

T = TypeVar("T")

# Scrolls the page to the first field message (a constant script: no user text goes in).
_SCROLL = """<script>
const message = document.querySelector('[class*="st-key-field-problem-"]');
if (message) message.scrollIntoView({block: "center", behavior: "instant"});
</script>"""


class FieldsRefused(BillingError):
    """Fields of one form broke their rules: `problems` maps each field to its sentence."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))


def read_fields(checks: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run every field's check (each reads its field, or raises InvalidInput); the values by
    field, or FieldsRefused naming every field that failed, not only the first."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field, check in checks.items():
        try:
            values[field] = check()
        except InvalidInput as refused:
            problems[field] = refused.problem
    if problems:
        raise FieldsRefused(problems)
    return values


class FieldSlots:
    """Places kept right under a form's fields, for their messages (`keep` one per field
    while drawing the form, `show` after Review)."""

    def __init__(self, form: str) -> None:
        self._form = form
        self._slots: dict[str, Any] = {}

    def keep(self, field: str, container: Any = None) -> None:
        self._slots[field] = (container or st).empty()

    def show(self, refused: FieldsRefused) -> None:
        for field, problem in refused.problems.items():
            slot = self._slots.get(field)
            if slot is None:
                st.error(escape_markdown(f"{field}: {problem}"), icon=":material/error:")
                continue
            with slot.container(key=f"field-problem-{self._form}-{field}"):
                st.error(escape_markdown(f"{field}: {problem}"), icon=":material/error:")
        st.html(_SCROLL, unsafe_allow_javascript=True)


def review_fields(slots: FieldSlots, read: Callable[[], T]) -> T | None:
    """`read()` the form (it raises FieldsRefused for its fields): its value, or None after
    showing each field's problem in its slot. Any other failure is shown as every action's
    is (`run_action`)."""
    def checked() -> T | None:
        try:
            return read()
        except FieldsRefused as refused:
            slots.show(refused)
            return None

    ok, value = run_action(checked)
    return value if ok else None
