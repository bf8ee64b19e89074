"""A short table whose cells wrap, so no column is cut at 1440 px, its text kept plain.

`st.dataframe` draws a grid whose cells never wrap: at 1440 px a long explanation
("Why", "How it is computed") was cut at its column's edge. `st.table` wraps, but it
renders every cell as Markdown, so each cell goes through `escape_markdown` first (a `$`
in a typed label would otherwise start LaTeX). Only for tables of a page or less: a table
draws every row.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ledgerline_ui.tables.plain_text import escape_markdown


def wrapping_table(frame: pd.DataFrame) -> None:
    st.table(frame.map(escape_markdown), hide_index=True)
