"""The dashboard's charts: Altair (Vega-Lite) specs that ``st.altair_chart`` draws.

Altair comes with Streamlit, so the charts need no other package. Categories
(MSISDNs, applications, clusters) are drawn in the order of the DataFrame, which
the queries already sort (rank, export order, cluster id); numbers on axes use
SI prefixes (``400G`` bytes).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

ACCENT = "#1f5f99"
MUTED = "#9bb7d4"
HIGHLIGHT = "#d9792b"
HEIGHT = 320
#: Height of one bar with its gap, and of the axes below the bars (px). Streamlit
#: fits the whole chart, axes included, into the chart's height.
BAR_HEIGHT = 26
AXES_HEIGHT = 70


def bar_chart(
    frame: pd.DataFrame,
    category: str,
    value: str,
    *,
    category_title: str,
    value_title: str,
    highlight: str | None = None,
) -> alt.Chart:
    """Horizontal bars, one per row of ``frame``, in the frame's order.

    ``highlight`` names a boolean column whose True rows are drawn in the accent
    colour (e.g. the top-3 applications); without it every bar is.
    """
    data = frame.assign(**{category: frame[category].astype(str)})
    colour: alt.Color | alt.value = alt.value(ACCENT)
    if highlight is not None:
        colour = alt.Color(
            f"{highlight}:N",
            scale=alt.Scale(domain=[True, False], range=[ACCENT, MUTED]),
            legend=None,
        )
    return (
        alt.Chart(data, height=BAR_HEIGHT * len(data) + AXES_HEIGHT)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", sort=list(data[category]), title=category_title),
            x=alt.X(f"{value}:Q", title=value_title, axis=alt.Axis(format="~s")),
            color=colour,
            tooltip=[
                alt.Tooltip(f"{category}:N", title=category_title),
                alt.Tooltip(f"{value}:Q", title=value_title, format=",.2f"),
            ],
        )
    )


def elbow_chart(elbow: pd.DataFrame) -> alt.LayerChart:
    """Inertia against k, with the chosen k (``is_elbow``) marked and labelled."""
    base = (
        alt.Chart(elbow, height=HEIGHT)
        .transform_calculate(label="'elbow: k = ' + datum.k")
        .encode(
            x=alt.X("k:Q", title="Clusters (k)", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("inertia:Q", title="Inertia (scaled units)"),
            tooltip=[alt.Tooltip("k:Q"), alt.Tooltip("inertia:Q", format=",.1f")],
        )
    )
    line = base.mark_line(color=ACCENT, point=alt.OverlayMarkDef(color=ACCENT))
    chosen = base.transform_filter(alt.datum.is_elbow).mark_point(
        color=HIGHLIGHT, size=220, filled=True
    )
    label = (
        base.transform_filter(alt.datum.is_elbow)
        .mark_text(align="left", dx=12, dy=-12, color=HIGHLIGHT, fontWeight="bold")
        .encode(text=alt.Text("label:N"))
    )
    return alt.layer(line, chosen, label)
