"""matplotlib figures of runs and ensembles, in report.html's colours (engine/web/charts.js)."""

from __future__ import annotations

import pandas as pd

from ._errors import UsageError

# engine/web/charts.js: TECHDEP_COLOURS; bands are the line colour at alpha 0x22 (5-95 %) and 0x44
# (25-75 %).
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd", "#e6550d"]
OUTER_BAND_ALPHA = 0x22 / 255
INNER_BAND_ALPHA = 0x44 / 255

DIMENSIONS = ("country", "sector", "partner", "segment")


def select(frame: pd.DataFrame, metric: str, chosen: dict, by) -> tuple:
    """Rows of one metric with the chosen dimensions, and the dimension that tells lines apart.
    A segmented cell's lines are its whole demand unless a segment or by="segment" is asked for."""
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a str, not {type(metric).__name__}")
    rows = frame[frame["metric"] == metric]
    if "segment" in rows.columns and chosen.get("segment") is None and by != "segment":
        rows = rows[rows["segment"] == ""]
    if rows.empty:
        known = sorted(str(name) for name in frame["metric"].unique())
        raise UsageError(f"plot: no series of metric '{metric}' (this run has: "
                                f"{', '.join(known)})")
    listed = []
    for dimension, value in chosen.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            missing = [v for v in value if not (rows[dimension] == v).any()]
            if missing:
                raise UsageError(f"plot: no {metric} series with {dimension} "
                                        f"{', '.join(missing)}")
            rows = rows[rows[dimension].isin(value)]
            listed.append(dimension)
            continue
        if not isinstance(value, str):
            raise TypeError(f"{dimension} must be a str or a list of str, "
                            f"not {type(value).__name__}")
        rows = rows[rows[dimension] == value]
        if rows.empty:
            raise UsageError(f"plot: no {metric} series with {dimension}='{value}'")
    open_dimensions = [d for d in DIMENSIONS
                       if d in listed or (chosen.get(d) is None and rows[d].nunique() > 1)]
    if by is None:
        if len(open_dimensions) > 1:
            raise UsageError(
                f"plot: {metric} varies by {' and '.join(open_dimensions)}; choose all but one "
                f"(e.g. {open_dimensions[0]}=...) or name the line dimension with by=")
        by = open_dimensions[0] if open_dimensions else None
    elif by not in DIMENSIONS:
        raise UsageError(f"plot: by must be one of {', '.join(DIMENSIONS)}, not {by!r}")
    else:
        others = [d for d in open_dimensions if d != by]
        if others:
            raise UsageError(f"plot: {metric} also varies by {' and '.join(others)}; "
                                    f"choose {others[0]}=...")
    return rows, by


def title(metric: str, chosen: dict) -> str:
    parts = [f"{d} {chosen[d]}" for d in DIMENSIONS if isinstance(chosen.get(d), str) and chosen[d]]
    return metric + (": " + ", ".join(parts) if parts else "")


def new_axes(ax):
    import matplotlib.pyplot as plt  # imported on first plot: matplotlib is slow to import

    if ax is None:
        figure, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    else:
        figure = ax.figure
    return figure, ax


def finish(ax, metric: str, unit: str, chosen: dict, legend_title, labelled: bool,
           step_unit: str) -> None:
    ax.set_title(title(metric, chosen))
    ax.set_ylabel(f"{metric} [{unit}]")
    ax.set_xlabel({"month": "date (monthly steps)", "quarter": "date (quarterly steps)",
                   "year": "date (yearly steps)"}[step_unit])
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    if labelled:
        ax.legend(title=legend_title, frameon=False, fontsize="small")


def line_groups(rows: pd.DataFrame, by, order):
    """Groups in the order the caller listed them, else in the order rows come."""
    if by is None:
        yield None, rows
        return
    groups = dict(iter(rows.groupby(by, observed=True, sort=False)))
    keys = order if isinstance(order, (list, tuple)) else list(groups)
    for key in keys:
        yield key, groups[key]


def x_values(dates: pd.Series):
    return dates.dt.to_timestamp()


def plot_lines(frame, metric, unit, chosen, by, ax, step_unit):
    rows, by = select(frame, metric, chosen, by)
    figure, ax = new_axes(ax)
    for index, (key, group) in enumerate(line_groups(rows, by, chosen.get(by))):
        group = group.sort_values("step")
        ax.plot(x_values(group["date"]), group["value"], color=COLOURS[index % len(COLOURS)],
                linewidth=2, label=None if key is None else (key or "(none)"))
    finish(ax, metric, unit, chosen, by, by is not None, step_unit)
    return figure


def plot_bands(frame, metric, unit, chosen, by, ax, step_unit):
    rows, by = select(frame, metric, chosen, by)
    figure, ax = new_axes(ax)
    for index, (key, group) in enumerate(line_groups(rows, by, chosen.get(by))):
        group = group.sort_values("step")
        colour = COLOURS[index % len(COLOURS)]
        x = x_values(group["date"])
        name = "" if key is None else f"{key or '(none)'} "
        ax.fill_between(x, group["p05"], group["p95"], color=colour, alpha=OUTER_BAND_ALPHA,
                        linewidth=0, label=f"{name}5-95 %")
        ax.fill_between(x, group["p25"], group["p75"], color=colour, alpha=INNER_BAND_ALPHA,
                        linewidth=0, label=f"{name}25-75 %")
        ax.plot(x, group["p50"], color=colour, linewidth=2, label=f"{name}median")
    finish(ax, metric, unit, chosen, by, True, step_unit)
    return figure
