"""A screen of hostile text through `escape_markdown` and `escape_chart_text`, for a browser.

tests/ui/browser/test_plain_text.py serves this script with `streamlit run` and reads
back what Chromium shows: every case, in every kind of element that renders Markdown,
must read exactly as typed. Importing it only defines CASES (Streamlit runs it as
`__main__`).
"""

from __future__ import annotations

CASES = [
    "Request x $9,000.00 y $",
    r"a$b$c and $x^2$ and $$y$$ and $\phantom{0}$",
    "![p](http://127.0.0.1:9/pixel.png)",
    "[link](http://127.0.0.1:9/evil) <http://127.0.0.1:9/auto>",
    "<img src=http://127.0.0.1:9/x.png> <b>b</b> &amp; &lt;",
    r"**bold** _it_ ~~strike~~ ~s~ `code` a\b \$ \*",
    ":material/home: :material_home: :smile: :streamlit: :red[red] :blue-badge[b] :small[s]",
    "http://127.0.0.1:9/auto https://x.example.com www.example.com someone@example.com",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "---",
    "a | b | c",
    "Tom & Jerry: 10:30 ok (a) [b] {c} ^d =e= +f",
    ":smile",
    "snake_case _x_ __init__ a_b_ foo_",
    "#12 then # not heading, 1.5 TB and 2) x",
    "x | y\n-|-\n1 | 2",
    "line one\n\n    line two",
]
CHART_LABELS = ['<a href="http://127.0.0.1:9/chart">evil</a> <b>bold</b> & Tom', "$x^2$"]

if __name__ == "__main__":
    import plotly.graph_objects as go
    import streamlit as st

    from ledgerline_ui.tables.plain_text import escape_chart_text, escape_markdown

    for number, case in enumerate(CASES):
        text = escape_markdown(case)
        with st.container(key=f"case_{number}"):
            st.markdown(text)
            st.caption(text)
            st.error(text)
            st.subheader(text, anchor=False)
            st.button(text, key=f"button_{number}")
            with st.expander(text):
                st.text("inside")
            st.metric(text, text)
            st.selectbox(text, ["-"], key=f"select_{number}")
            st.tabs([text])
            st.markdown(f"Before {text}: after $1.00 then $2.00")
    st.plotly_chart(go.Figure(
        go.Bar(y=[escape_chart_text(label) for label in CHART_LABELS], x=["1", "2"],
               orientation="h"),
        layout={"title": escape_chart_text(CHART_LABELS[0])}), key="chart")
