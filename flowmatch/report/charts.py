"""The report's charts, computed from a plan folder alone.

Headline figures against the baseline, a Sankey diagram of resource fate per
category, and the comparison chart of a what-if grid or Pareto front (the map
is :mod:`flowmatch.report.sitemap`). User strings are escaped with
:mod:`flowmatch.report.format` before they reach a figure. A Sankey shows the
largest resource types and folds the rest into one node; it returns a note
saying so, for the page to show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from flowmatch.inputs.labels import type_label
from flowmatch.inputs.taxonomy import builtin_taxonomy
from flowmatch.inputs.units import BASE_UNIT, CATEGORIES
from flowmatch.metrics import METRICS, SUMMARY_KEYS, metric_named
from flowmatch.plans.folder import PlanFolder
from flowmatch.plans.plan import DISPOSAL, VIRGIN
from flowmatch.report.format import esc_plot, fmt_number
from flowmatch.report.style import FONT, PARK_COLOURS, rgba, strings

__all__ = ["Headline", "headline_figures", "sankey_figures", "comparison_figure", "pareto_figure",
           "REUSE_MODES"]

REUSE_MODES = {"direct": "direct synergy", "milk_round": "milk round", "cascade": "cascade",
               "regenerated": "cascade, regenerated"}
_FATE_COLOUR = {"direct synergy": "#2ca02c", "milk round": "#98c13d", "cascade": "#17becf",
                "cascade, regenerated": "#1f77b4"}
_STILL = {"landfill": "still landfilled", "incineration": "still incinerated", "discharge": "still discharged",
          "recovered": "still recovered elsewhere", "disposal": "still disposed"}


# --------------------------------------------------------------------------- headline


@dataclass(frozen=True)
class Headline:
    """One headline figure: what the plan changes against today (the baseline).

    ``value`` is the saving (baseline minus plan) or, for counts, the count.
    """

    key: str
    label: str
    value: float
    unit: str
    plan: float | None = None
    baseline: float | None = None
    detail: str = ""


def _category(summary: dict, cat: str) -> dict:
    return summary.get("by_category", {}).get(cat) or {}


def headline_figures(pf: PlanFolder) -> list[Headline]:
    """The headline figures of a plan, from ``summary.json`` (counts fall back to the tables)."""
    s = pf.summary
    obj, base = s["objective"], s["baseline"]
    cur = str(s.get("currency", "")).strip()
    out = []
    for key, label, field, unit, scale in (
        ("landfill_diverted_t", "Landfill diverted", "landfill_t", "t/yr", 1.0),
        ("cost_saved", "Cost saved", "cost", f"{cur}/yr".strip("/") if cur else "per yr", 1.0),
        ("co2_avoided_t", "CO2 avoided", "co2_t", "t CO2e/yr", 1.0),
    ):
        b, p = float(base.get(field, 0.0)), float(obj.get(field, 0.0))
        out.append(Headline(key, label, (b - p) * scale, unit, p, b,
                            f"plan {fmt_number(p)} vs today {fmt_number(b)}"))
    for key, label, cat, unit, what in (
        ("fresh_water_saved_m3", "Fresh water saved", "water", "m3/yr", "fresh water"),
        ("hot_utility_saved_mwh", "Hot utility saved", "energy", "MWh/yr", "hot utility"),
    ):
        c = _category(s, cat)
        demand, virgin = float(c.get("demand", 0.0)), float(c.get("virgin", c.get("demand", 0.0)))
        out.append(Headline(key, label, demand - virgin, unit, virgin, demand,
                            f"{what} {fmt_number(virgin)} vs today {fmt_number(demand)}"))
    f = pf.flows
    n_syn = s.get("n_synergies")
    if n_syn is None:
        n_syn = int((f["mode"] == "direct").sum())
    n_milk = s.get("n_milk_rounds")
    if n_milk is None:
        n_milk = len(pf.routes)
    detail = "direct have-to-want links"
    syn = getattr(pf, "synergies", None)
    n_all = len(syn) if syn is not None else int(((f["want_id"] != DISPOSAL) & (f["have_id"] != VIRGIN)).sum())
    if n_all > n_syn:  # the synergy table also lists water and heat flows and milk-round stops
        detail += f"; {n_all:,} synergies in all with water and heat flows and milk-round stops"
    out.append(Headline("n_synergies", "Synergies", float(n_syn), "", detail=detail))
    out.append(Headline("n_milk_rounds", "Milk rounds", float(n_milk), "", detail="collection routes"))
    return out


# --------------------------------------------------------------------------- Sankey


def _type_labels(types: pd.Series, lang: str = "en") -> pd.Series:
    tax = builtin_taxonomy()
    uniq = types.unique()
    lab = {}
    for t in uniq:
        name = type_label(t, lang, tax)
        if len(name) > 38:
            name = name[:36].rstrip() + "..."
        lab[t] = f"{name} ({t})" if name else t
    return types.map(lab)


def _fates(flows: pd.DataFrame, res: pd.DataFrame) -> pd.DataFrame:
    """Have-side flows with category, type and fate label."""
    f = flows[(flows["have_id"] != VIRGIN) & (flows["quantity"] > 0)]
    info = res.drop_duplicates("resource_id").set_index("resource_id")
    f = f.assign(category=info["category"].reindex(f["have_id"]).to_numpy(),
                 type=info["type"].reindex(f["have_id"]).to_numpy(),
                 route=(info["route"] if "route" in info else pd.Series("", index=info.index))
                 .reindex(f["have_id"]).fillna("").astype(str).to_numpy())
    f = f[f["category"].notna()]
    disposal = (f["want_id"] == DISPOSAL) | (f["mode"] == "disposal")
    fate = f["mode"].map(REUSE_MODES).fillna("other reuse")
    still = f["route"].str.lower().map(lambda r: _STILL.get(r, f"still {r}" if r else "still disposed"))
    disp_label = np.where(f["category"] == "water", "wastewater (discharge)",
                          np.where(f["category"] == "energy", "rejected heat (cold utility)", still))
    fate = fate.where(~disposal, pd.Series(disp_label, index=f.index))
    return f.assign(fate=fate.to_numpy(), disposed=disposal.to_numpy())


def sankey_figures(pf: PlanFolder, max_types: int = 12, lang: str = "en") -> list[tuple[str, go.Figure, str]]:
    """One Sankey of resource fate per category present: pool -> types -> fates.

    Type labels are in ``lang`` (``en`` or ``zh``, see :mod:`flowmatch.inputs.labels`).

    Returns ``(category, figure, note)`` triples; the note says how many types
    were folded into "other types".
    """
    f = _fates(pf.flows, pf.resources)
    out = []
    present = set(f["category"].unique().tolist())
    for cat in [c for c in CATEGORIES if c in present] + sorted(present - set(CATEGORIES)):
        fc = f[f["category"] == cat]
        unit = BASE_UNIT.get(cat, "")
        by_type = fc.groupby("type")["quantity"].sum().sort_values(ascending=False)
        keep = list(by_type.index[:max_types])
        note = ""
        if len(by_type) > max_types:
            note = (f"{cat}: the {max_types} largest of {len(by_type)} resource types are shown; "
                    f"the other {len(by_type) - max_types} are summed as 'other types'.")
        tcol = fc["type"].where(fc["type"].isin(keep), "__other__")
        labels_t = _type_labels(pd.Series(keep, dtype=object), lang).tolist()
        if (tcol == "__other__").any():
            keep.append("__other__")
            labels_t.append(f"other types ({len(by_type) - max_types})")
        fate_tot = fc.groupby("fate")["quantity"].sum()
        disposed = sorted(fc.loc[fc["disposed"], "fate"].unique().tolist())
        reuse = [x for x in REUSE_MODES.values() if x in fate_tot.index] + sorted(
            x for x in fate_tot.index if x not in REUSE_MODES.values() and x not in disposed)
        disposed.sort(key=lambda x: (x == "still landfilled", x))  # landfill last, at the bottom
        fates = reuse + disposed
        total = float(fc["quantity"].sum())
        n_t = len(keep)
        labels = [f"all haves: {fmt_number(total)} {unit}/yr"] + [esc_plot(x) for x in labels_t] + [
            f"{esc_plot(x)}: {fmt_number(float(fate_tot[x]))} {unit}/yr" for x in fates]
        colours = ["#34495e"] + ["#7f8c8d"] * n_t + [
            _FATE_COLOUR.get(x, "#c0392b" if "landfill" in x else "#95a5a6") for x in fates]
        t_idx = {t: i + 1 for i, t in enumerate(keep)}
        f_idx = {x: 1 + n_t + i for i, x in enumerate(fates)}
        tq = fc.assign(t=tcol).groupby("t")["quantity"].sum().reindex(keep)
        src = [0] * len(tq)
        tgt = [t_idx[t] for t in tq.index]
        val = tq.to_numpy().tolist()
        tf = fc.assign(t=tcol).groupby(["t", "fate"])["quantity"].sum()
        tf = tf.iloc[sorted(range(len(tf)), key=lambda i: (t_idx[tf.index[i][0]], f_idx[tf.index[i][1]]))]
        for (t, x), q in tf.items():
            src.append(t_idx[t])
            tgt.append(f_idx[x])
            val.append(float(q))
        link_col = ["rgba(52,73,94,0.25)"] * len(tq) + [
            rgba(colours[f_idx[x]], 0.45) for (_, x) in tf.index]
        height = max(380, 30 * max(n_t, len(fates)) + 110)
        fig = go.Figure(go.Sankey(
            arrangement="snap",  # plotly orders nodes and links to cross least; users can drag nodes
            valueformat=",.0f", valuesuffix=f" {unit}/yr",
            node=dict(label=labels, color=colours, pad=14, thickness=16,
                      line=dict(color="white", width=0.5)),
            link=dict(source=src, target=tgt, value=val, color=link_col),
        ))
        fig.update_layout(
            title=dict(text=f"{cat.capitalize()} ({unit}/yr): where the haves go", x=0.01),
            height=height, margin=dict(l=10, r=10, t=44, b=10),
            font=FONT, paper_bgcolor="white")
        out.append((cat, fig, note))
    return out


# --------------------------------------------------------------------------- comparisons

_METRICS = [*(metric_named(n).key for n in ("cost", "landfill", "co2")), "n_synergies", "n_milk_rounds"]
_PARETO_AXES = list(SUMMARY_KEYS)
_METRIC_OF = {**{m.name: m.key for m in METRICS}, **{m.key: m.key for m in METRICS}}


def _label_column(df: pd.DataFrame, metrics: list[str]) -> pd.Series:
    for c in ("scenario", "name", "label"):
        if c in df.columns:
            return df[c].astype(str)
    others = [c for c in df.columns if c not in metrics]
    if not others:
        return pd.Series([f"#{i + 1}" for i in range(len(df))], index=df.index)
    return df[others].astype(str).apply(
        lambda r: ", ".join(f"{k}={v}" for k, v in r.items()), axis=1)


def comparison_figure(df: pd.DataFrame) -> go.Figure:
    """Small multiples, one bar chart per metric of a what-if comparison table."""
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    metrics = [c for c in _METRICS if c in numeric] or numeric[:4]
    labels = [esc_plot(x) for x in _label_column(df, metrics)]
    fig = make_subplots(rows=1, cols=max(len(metrics), 1), subplot_titles=[esc_plot(m) for m in metrics])
    for i, m in enumerate(metrics):
        fig.add_trace(go.Bar(x=labels, y=df[m], name=esc_plot(m), marker_color=PARK_COLOURS[i % len(PARK_COLOURS)],
                             showlegend=False, hovertemplate="%{x}<br>" + esc_plot(m) + ": %{y:,.4g}<extra></extra>"),
                      row=1, col=i + 1)
    fig.update_layout(height=420, margin=dict(l=50, r=10, t=60, b=90), font=FONT,
                      title=dict(text="What-if scenarios compared", x=0.01), plot_bgcolor="#f4f6f8")
    return fig


def _pareto_axes(df: pd.DataFrame) -> list[str]:
    """The two objectives of a Pareto table: ``(A, B)``, the front being A minimised under caps on B.

    ``flowmatch pareto`` writes the cap on B as ``<B>_cap`` and sorts the
    front by A; without a cap column, the first two of cost, CO2 and landfill.
    """
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    caps = [c[:-4] for c in df.columns if c.endswith("_cap")]
    b = _METRIC_OF.get(caps[0]) if caps else None
    if b is not None and b in numeric:
        others = [m for m in _PARETO_AXES if m != b and m in numeric]
        if others:
            a = next((m for m in others if df[m].is_monotonic_increasing), others[0])
            return [a, b]
    axes = [c for c in _PARETO_AXES if c in numeric][:2]
    return axes if len(axes) == 2 else numeric[:2]


def pareto_figure(df: pd.DataFrame) -> go.Figure:
    """The Pareto front of ``pareto.csv``: one objective against the other."""
    axes = _pareto_axes(df)
    x, y = axes
    d = df.sort_values(x)
    hover = ["<br>".join(f"{esc_plot(k)}: {esc_plot(v)}" for k, v in row.items()) for row in d.to_dict("records")]
    fig = go.Figure(go.Scatter(x=d[x], y=d[y], mode="lines+markers", marker=dict(size=9, color="#2ca02c"),
                               line=dict(color="#2ca02c"), hovertext=strings(hover), hoverinfo="text"))
    fig.update_layout(height=420, margin=dict(l=60, r=10, t=50, b=50), font=FONT, plot_bgcolor="#f4f6f8",
                      title=dict(text=f"Pareto front: {esc_plot(x)} against {esc_plot(y)}", x=0.01),
                      xaxis_title=esc_plot(x), yaxis_title=esc_plot(y))
    return fig
