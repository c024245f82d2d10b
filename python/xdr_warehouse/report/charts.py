"""The report's charts: matplotlib figures rendered to PNG bytes.

Figures are built with the object API (``Figure`` + Agg canvas), never pyplot,
so no global state or GUI backend is involved. Every chart has a fixed size,
110 dpi, a title and axis labels with units; ticks are plain numbers in the unit
of the axis label (MB/GB/TB, hours), never offsets or 1e10 notation. Clusters
have one colour (cividis, whose lightness rises evenly, so the shades stay
apart in greyscale) plus one marker and one hatch each. The PNGs carry no
software or date metadata: the same marts give the same bytes.

The public ``*_chart`` functions return PNG bytes (see :func:`_png`).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from typing import ParamSpec

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from xdr_warehouse.report.text import (
    BYTE_UNITS,
    MS_PER_HOUR,
    common_byte_unit,
    fmt_bytes,
    fmt_count,
    fmt_hours,
    fmt_msisdn,
    fmt_number,
    fmt_share,
    plural,
)

P = ParamSpec("P")
DPI = 110
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")
HATCHES: tuple[str, ...] = ("", "///", "xxx", "...", "\\\\\\", "+++", "ooo", "---", "|||", "**")
STYLE = {
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "hatch.linewidth": 0.6,
}
DARK = "#2b2b2b"
ACCENT = matplotlib.colormaps["cividis"](0.05)
LIGHT = matplotlib.colormaps["cividis"](0.75)


def cluster_colours(n: int) -> list[tuple[float, float, float, float]]:
    """n cividis shades from dark (lowest cluster) to light (highest)."""
    cmap = matplotlib.colormaps["cividis"]
    if n <= 1:
        return [cmap(0.35)]
    return [cmap(x) for x in np.linspace(0.05, 0.92, n)]


def plain_tick(value: float, _pos: object = None) -> str:
    """Tick label without offset or exponent: 1234.5 -> '1,234.5', 2.0 -> '2'."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


PLAIN = FuncFormatter(plain_tick)


def log_tick(value: float, _pos: object = None) -> str:
    """Tick label on a log axis: 1000 -> '1,000', 0.01 -> '0.01' (never 1e-2)."""
    if value <= 0:
        return ""
    if value >= 1:
        return plain_tick(value)
    decimals = int(-np.floor(np.log10(value) + 1e-9))
    return f"{value:.{decimals}f}"


LOG_PLAIN = FuncFormatter(log_tick)


def heavy_tailed(values: np.ndarray | pd.Series) -> bool:
    """True when a few values dwarf the rest (max > 20 x the 99th percentile).

    Such an axis is drawn on a log scale; a linear one would squeeze almost every
    customer into one corner.
    """
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr) & (arr > 0)]
    if len(arr) < 20:
        return False
    return float(arr.max()) > 20 * float(np.quantile(arr, 0.99))


def new_figure(width: float, height: float) -> Figure:
    """A fixed-size figure (inches) with constrained layout on an Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """Render a figure to PNG bytes (no metadata, so identical input gives identical bytes)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _png(build: Callable[P, Figure]) -> Callable[P, bytes]:
    """Turn a figure builder into a chart function returning PNG bytes.

    The builder runs with the report style active (rcParams apply when artists
    are created, so the style must be active while the figure is built).
    """

    @functools.wraps(build)
    def render(*args: P.args, **kwargs: P.kwargs) -> bytes:
        with matplotlib.rc_context(STYLE):
            return png_bytes(build(*args, **kwargs))

    return render


def _unit(metric: str, reference: Sequence[float] | np.ndarray | pd.Series) -> tuple[float, str]:
    """Divisor to display units and the axis label with the unit (bytes: by the largest value)."""
    if metric == "duration_ms":
        return MS_PER_HOUR, "session time (hours)"
    if metric == "traffic_bytes":
        unit = common_byte_unit(np.asarray(reference, dtype=float))
        return dict(BYTE_UNITS)[unit], f"traffic ({unit})"
    return 1.0, "sessions (count)"


def _metric_text(metric: str, value: float) -> str:
    if metric == "duration_ms":
        return fmt_hours(value)
    if metric == "traffic_bytes":
        return fmt_bytes(value)
    return fmt_number(value, 1) if value != round(value) else fmt_count(value)


# --------------------------------------------------------------------------- clusters

METRIC_PANEL_TITLES = {
    "sessions": "Sessions per customer",
    "duration_ms": "Session time per customer",
    "traffic_bytes": "Traffic per customer (DL + UL)",
}


@_png
def cluster_metrics_chart(clusters: pd.DataFrame) -> Figure:
    """One panel per metric: average per cluster (bar) and its min..max range (line).

    ``clusters`` is text.cluster_frame(engagement_cluster_summary).
    """
    metrics = [m for m in METRIC_PANEL_TITLES if f"{m}_avg" in clusters]
    fig = new_figure(11, 3.9)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    colours = cluster_colours(len(clusters))
    x = np.arange(len(clusters))
    for ax, metric in zip(axes, metrics, strict=True):
        factor, label = _unit(metric, clusters[f"{metric}_max"])
        avg, lo, hi = (
            clusters[f"{metric}_{stat}"].to_numpy(float) / factor for stat in ("avg", "min", "max")
        )
        for i in range(len(clusters)):
            ax.bar(
                x[i],
                avg[i],
                width=0.6,
                color=colours[i],
                hatch=HATCHES[i % len(HATCHES)],
                edgecolor=DARK,
                linewidth=0.6,
                zorder=2,
            )
            ax.vlines(x[i], lo[i], hi[i], color=DARK, linewidth=1.2, zorder=3)
            ax.plot(
                [x[i]] * 2,
                [lo[i], hi[i]],
                linestyle="none",
                marker="_",
                markersize=12,
                color=DARK,
                zorder=3,
            )
            ax.annotate(
                _metric_text(metric, clusters[f"{metric}_avg"].iloc[i]),
                (x[i], avg[i]),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                zorder=4,
            )
        ax.set_xticks(x, [str(level) for level in clusters["engagement_level"]])
        ax.set_xlabel("engagement cluster")
        ax.set_ylabel(label)
        ax.set_title(METRIC_PANEL_TITLES[metric])
        ax.yaxis.set_major_formatter(PLAIN)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=metric == "sessions"))
        ax.set_ylim(0, max(hi.max(), 1e-9) * 1.08)
        ax.grid(axis="x", visible=False)
    fig.suptitle(
        "Clusters compared: bar = average, line = min to max (non-normalized metrics)", fontsize=10
    )
    return fig


@_png
def cluster_sizes_chart(clusters: pd.DataFrame) -> Figure:
    """100% stacked bars: each cluster's share of customers, sessions, session time, traffic."""
    measures = [
        ("customers", "customer_share"),
        ("sessions", "sessions_share"),
        ("session time", "duration_ms_share"),
        ("traffic", "traffic_bytes_share"),
    ]
    measures = [(name, col) for name, col in measures if col in clusters]
    fig = new_figure(9.5, 3.4)
    ax = fig.subplots()
    colours = cluster_colours(len(clusters))
    y = np.arange(len(measures))[::-1]
    left = np.zeros(len(measures))
    label_box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}
    for i, row in enumerate(clusters.itertuples()):
        widths = np.array([float(getattr(row, col)) * 100 for _, col in measures])
        ax.barh(
            y,
            widths,
            left=left,
            height=0.62,
            color=colours[i],
            hatch=HATCHES[i % len(HATCHES)],
            edgecolor=DARK,
            linewidth=0.6,
            label=f"{row.engagement_level} ({plural(row.customers, 'customer')})",
            zorder=2,
        )
        last = i == len(clusters) - 1
        for j, width in enumerate(widths):
            if width >= 6:
                ax.text(
                    left[j] + width / 2,
                    y[j],
                    fmt_share(width / 100),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color=DARK,
                    bbox=label_box,
                    zorder=3,
                )
            elif last:  # the highest cluster is the one the text talks about: always label it
                ax.text(
                    101,
                    y[j],
                    fmt_share(width / 100),
                    ha="left",
                    va="center",
                    fontsize=8,
                    color=DARK,
                    clip_on=False,
                )
        left += widths
    ax.set_yticks(y, [f"share of {name}" for name, _ in measures])
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the total over all customers (%)")
    ax.xaxis.set_major_formatter(PLAIN)
    ax.set_title("Cluster sizes and what each cluster carries")
    ax.grid(axis="y", visible=False)
    ax.legend(
        title="engagement cluster", loc="upper left", bbox_to_anchor=(1.08, 1.0), title_fontsize=8
    )
    return fig


def sample_customers(customers: pd.DataFrame, limit: int, seed: int = 0) -> pd.DataFrame:
    """Exactly min(limit, customers) customers, deterministic, every cluster visible.

    The sample is stratified by cluster in proportion to the clusters' sizes
    (largest remainders get the rounding), except that a cluster whose share
    would be below min(size, limit // 50) points gets that many, so a cluster of
    a handful of extreme customers does not vanish. Rows are drawn from the customers sorted by
    MSISDN with a fixed seed, so the same marts give the same sample whatever
    order they come in.
    """
    ordered = customers.sort_values("msisdn", kind="stable").reset_index(drop=True)
    if len(ordered) <= limit:
        return ordered
    groups = [group for _, group in ordered.groupby("cluster_id", sort=True)]
    sizes = np.array([len(group) for group in groups])
    floors = np.minimum(sizes, max(limit // 50, 1))
    fixed = np.zeros(len(sizes), dtype=bool)  # clusters held at their floor
    while True:
        budget = limit - int(floors[fixed].sum())
        exact = np.where(fixed, floors, budget * sizes / max(int(sizes[~fixed].sum()), 1))
        below = ~fixed & (exact < floors)
        if not below.any():
            break
        fixed |= below
    quotas = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - quotas), kind="stable")[: limit - int(quotas.sum())]:
        quotas[i] += 1
    quotas = np.minimum(quotas, sizes)
    rng = np.random.default_rng(seed)
    parts = [
        group.iloc[np.sort(rng.choice(len(group), size=int(quota), replace=False))]
        for group, quota in zip(groups, quotas, strict=True)
    ]
    return pd.concat(parts).sort_values("msisdn", kind="stable").reset_index(drop=True)


@_png
def cluster_scatter_chart(
    sample: pd.DataFrame, total_customers: int, levels: dict[int, str]
) -> Figure:
    """Customers coloured by cluster: session time vs traffic, and sessions vs traffic."""
    fig = new_figure(11, 4.6)
    ax_time, ax_sessions = fig.subplots(1, 2)
    cluster_ids = sorted(levels)
    colours = cluster_colours(len(cluster_ids))
    log_traffic = heavy_tailed(sample["total_traffic_bytes"])
    log_time = heavy_tailed(sample["total_duration_ms"])
    log_sessions = heavy_tailed(sample["session_count"])
    reference = sample["total_traffic_bytes"].median() if log_traffic else None
    unit = common_byte_unit([reference] if reference is not None else sample["total_traffic_bytes"])
    factor = dict(BYTE_UNITS)[unit]
    rng = np.random.default_rng(1)
    jitter = rng.uniform(-0.18, 0.18, size=len(sample))
    # Largest cluster first so the smaller ones stay visible on top.
    order = sorted(cluster_ids, key=lambda c: -int((sample["cluster_id"] == c).sum()))
    for cid in order:
        i = cluster_ids.index(cid)
        mask = (sample["cluster_id"] == cid).to_numpy()
        part = sample[mask]
        style = {
            "s": 9,
            "marker": MARKERS[i % len(MARKERS)],
            "color": colours[i],
            "edgecolors": DARK,
            "linewidths": 0.2,
            "alpha": 0.75,
            "label": f"{levels[cid]} ({fmt_count(mask.sum())} shown)",
        }
        traffic = part["total_traffic_bytes"].to_numpy(float) / factor
        ax_time.scatter(part["total_duration_ms"].to_numpy(float) / MS_PER_HOUR, traffic, **style)
        ax_sessions.scatter(part["session_count"].to_numpy(float) + jitter[mask], traffic, **style)
    log_note = ", log scale"
    ax_time.set_xlabel(f"session time per customer (hours{log_note if log_time else ''})")
    ax_sessions.set_xlabel(
        f"sessions per customer (count{log_note if log_sessions else ''}, "
        "jittered ±0.18 to show density)"
    )
    for ax, log_x in ((ax_time, log_time), (ax_sessions, log_sessions)):
        ax.set_ylabel(f"traffic per customer ({unit}{log_note if log_traffic else ''})")
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(LOG_PLAIN)
        else:
            ax.xaxis.set_major_formatter(PLAIN)
            ax.set_xlim(left=0)
        if log_traffic:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(LOG_PLAIN)
        else:
            ax.yaxis.set_major_formatter(PLAIN)
            ax.set_ylim(bottom=0)
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    if not log_sessions:
        ax_sessions.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_time.set_title("Session time vs traffic")
    ax_sessions.set_title("Sessions vs traffic")
    shown = len(sample)
    note = (
        f"all {fmt_count(shown)} customers"
        if shown >= total_customers
        else f"sample of {fmt_count(shown)} of {fmt_count(total_customers)} customers"
    )
    fig.suptitle(f"Customers coloured by engagement cluster ({note})", fontsize=10)
    ax_sessions.legend(
        title="engagement cluster",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title_fontsize=8,
        markerscale=1.8,
    )
    return fig


# --------------------------------------------------------------------------- elbow


@_png
def elbow_chart(elbow: pd.DataFrame, k_used: int) -> Figure:
    """Inertia against k, the detected elbow ringed and the k used as a dashed line."""
    elbow = elbow.sort_values("k")
    fig = new_figure(7.5, 4.0)
    ax = fig.subplots()
    ks = elbow["k"].to_numpy(int)
    inertia = elbow["inertia"].to_numpy(float)
    ax.plot(
        ks,
        inertia,
        marker="o",
        color=ACCENT,
        linewidth=1.6,
        markersize=5,
        zorder=2,
        label="inertia",
    )
    chosen = elbow[elbow["is_elbow"].fillna(False).astype(bool)]
    if not chosen.empty:
        k_elbow, value = int(chosen.iloc[0]["k"]), float(chosen.iloc[0]["inertia"])
        ax.plot(
            [k_elbow],
            [value],
            marker="o",
            markersize=16,
            markerfacecolor="none",
            markeredgecolor=DARK,
            markeredgewidth=2,
            linestyle="none",
            zorder=3,
            label=f"elbow (k = {k_elbow})",
        )
        ax.annotate(
            f"elbow: k = {k_elbow}",
            (k_elbow, value),
            xytext=(18, 18),
            textcoords="offset points",
            fontsize=9,
            arrowprops={"arrowstyle": "->", "color": DARK, "lw": 0.8},
        )
    ax.axvline(
        k_used,
        color=DARK,
        linestyle="--",
        linewidth=1,
        zorder=1,
        label=f"k used for the clusters ({k_used})",
    )
    ax.set_xticks(ks)
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("inertia (sum of squared distances, scaled units)")
    ax.yaxis.set_major_formatter(PLAIN)
    ax.set_ylim(bottom=0)
    ax.set_title("Elbow method: k-means inertia against k")
    ax.legend(loc="upper right")
    return fig


# --------------------------------------------------------------------------- applications


@_png
def application_traffic_chart(usage: pd.DataFrame) -> Figure:
    """Total traffic per application, the top applications dark, the others light."""
    usage = usage.sort_values("usage_rank")
    fig = new_figure(8.5, 3.9)
    ax = fig.subplots()
    unit = common_byte_unit(usage["total_bytes"])
    factor = dict(BYTE_UNITS)[unit]
    y = np.arange(len(usage))[::-1]
    values = usage["total_bytes"].to_numpy(float) / factor
    top = usage["is_top_application"].fillna(False).astype(bool).to_numpy()
    for yi, value, is_top in zip(y, values, top, strict=True):
        ax.barh(
            yi,
            value,
            height=0.65,
            color=ACCENT if is_top else LIGHT,
            edgecolor=DARK,
            linewidth=0.6,
            zorder=2,
        )
    for yi, value, row in zip(y, values, usage.itertuples(), strict=True):
        ax.text(
            value,
            yi,
            f"  {fmt_bytes(row.total_bytes)} ({fmt_share(row.traffic_share)})",
            va="center",
            ha="left",
            fontsize=8,
        )
    ax.set_yticks(y, list(usage["application"]))
    ax.set_xlim(0, max(values.max(), 1e-9) * 1.3)
    ax.set_xlabel(f"total traffic, DL + UL ({unit})")
    ax.xaxis.set_major_formatter(PLAIN)
    ax.grid(axis="y", visible=False)
    n_top = int(top.sum())
    ax.set_title(f"Traffic per application (top {n_top} in dark)")
    return fig


@_png
def top_users_chart(application: str, top: pd.DataFrame) -> Figure:
    """One application's top 10 users: DL and UL stacked, rank 1 at the top."""
    top = top.sort_values("rank")
    fig = new_figure(8.5, 4.2)
    ax = fig.subplots()
    unit = common_byte_unit(top["total_bytes"])
    factor = dict(BYTE_UNITS)[unit]
    y = np.arange(len(top))[::-1]
    dl = top["dl_bytes"].fillna(0).to_numpy(float) / factor
    ul = top["ul_bytes"].fillna(0).to_numpy(float) / factor
    ax.barh(
        y, dl, height=0.65, color=ACCENT, edgecolor=DARK, linewidth=0.6, label="download", zorder=2
    )
    ax.barh(
        y,
        ul,
        left=dl,
        height=0.65,
        color=LIGHT,
        hatch="///",
        edgecolor=DARK,
        linewidth=0.6,
        label="upload",
        zorder=2,
    )
    for yi, total, row in zip(y, dl + ul, top.itertuples(), strict=True):
        ax.text(total, yi, f"  {fmt_bytes(row.total_bytes)}", va="center", ha="left", fontsize=8)
    ax.set_yticks(y, [f"{int(r.rank)}.  {fmt_msisdn(r.msisdn)}" for r in top.itertuples()])
    ax.set_ylabel("customer (rank. MSISDN)")
    ax.set_xlabel(f"{application} traffic per customer ({unit})")
    ax.set_xlim(0, max((dl + ul).max(), 1e-9) * 1.18)
    ax.xaxis.set_major_formatter(PLAIN)
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    ax.set_title(f"{application}: top {len(top)} users by traffic")
    return fig
