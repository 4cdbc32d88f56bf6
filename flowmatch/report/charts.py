"""The report's figures, computed from a plan folder alone.

Headline figures against the baseline, a Sankey diagram of resource fate per
category, a map of sites with synergy links and milk-round routes (drawn on
longitude/latitude axes: no map tiles, so the report works offline), and the
comparison chart of a what-if grid or Pareto front. Every string that comes
from the user's data is HTML-escaped before it reaches a figure, since plotly
renders a few HTML tags in labels and hover text.

A plan can hold 10^5 flows; a browser cannot draw that many lines quickly. The
map draws the ``max_links`` largest links (ranked within each category, so
that every category shows) and the ``max_routes`` largest milk rounds one by
one, and aggregates the rest into park-to-park lines; each function returns
notes saying what it aggregated, for the page to show.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from flowmatch.inputs.taxonomy import builtin_taxonomy
from flowmatch.inputs.units import BASE_UNIT, CATEGORIES
from flowmatch.plans.folder import PlanFolder
from flowmatch.plans.plan import DISPOSAL, VIRGIN

__all__ = ["esc", "esc_plot", "Headline", "headline_figures", "sankey_figures", "site_map", "comparison_figure",
           "pareto_figure", "fmt_number", "fmt_scaled", "REUSE_MODES"]

REUSE_MODES = {"direct": "direct synergy", "milk_round": "milk round", "cascade": "cascade"}
_CAT_COLOUR = {"material": "#8c564b", "water": "#1f77b4", "energy": "#d62728"}
_FATE_COLOUR = {"direct synergy": "#2ca02c", "milk round": "#98c13d", "cascade": "#17becf"}
_PARK_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
                 "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
                 "#e6550d", "#31a354", "#756bb1", "#636363", "#d6616b"]
_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon",
            "pentagon", "triangle-down", "star-square", "hourglass"]
_STILL = {"landfill": "still landfilled", "incineration": "still incinerated", "discharge": "still discharged",
          "recovered": "still recovered elsewhere", "disposal": "still disposed"}
_WIDTHS = (1.2, 2.4, 3.8, 5.5, 7.5)
_FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=12)


def esc(text: object) -> str:
    """HTML-escape a user string for the page (text and attribute values)."""
    return html.escape("" if text is None else str(text), quote=True)


def esc_plot(text: object) -> str:
    """Escape a user string for a plotly label or hover text.

    plotly renders ``<b>``, ``<br>`` and a few other tags and decodes ``&lt;``,
    ``&gt;`` and ``&amp;``, but shows ``&quot;`` as it is; quotes are harmless
    in SVG text, so only ``&``, ``<`` and ``>`` are escaped.
    """
    return html.escape("" if text is None else str(text), quote=False)


def fmt_scaled(v: float, digits: int = 1) -> tuple[str, str]:
    """A number for people, split into its digits and a scale word: ``("12.3", "million")``.

    Millions and billions keep three significant digits.
    """
    if v is None or not math.isfinite(v):
        return "n/a", ""
    a = abs(v)
    for scale, word in ((1e9, "billion"), (1e6, "million")):
        if a >= scale:
            x = v / scale
            return f"{x:,.{0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2}f}", word
    if a >= 100 or v == round(v):
        return f"{v:,.0f}", ""
    if a >= 1:
        return f"{v:,.{digits}f}", ""
    return (f"{v:.2g}" if a else "0"), ""


def fmt_number(v: float, digits: int = 1) -> str:
    """A number for people: ``290 million``, ``12.3 million``, ``12,345``, ``12.3``, ``0.12``."""
    num, word = fmt_scaled(v, digits)
    return f"{num} {word}" if word else num


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
    out.append(Headline("n_synergies", "Synergies", float(n_syn), "", detail="direct have-to-want links"))
    out.append(Headline("n_milk_rounds", "Milk rounds", float(n_milk), "", detail="collection routes"))
    return out


# --------------------------------------------------------------------------- Sankey


def _type_labels(types: pd.Series) -> pd.Series:
    tax = builtin_taxonomy().table["label"]
    uniq = types.unique()
    lab = {}
    for t in uniq:
        name = tax.get(t) if t in tax.index else None
        name = str(name) if isinstance(name, str) and name else ""
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


def sankey_figures(pf: PlanFolder, max_types: int = 12) -> list[tuple[str, go.Figure, str]]:
    """One Sankey of resource fate per category present: pool -> types -> fates.

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
        labels_t = _type_labels(pd.Series(keep, dtype=object)).tolist()
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
            _rgba(colours[f_idx[x]], 0.45) for (_, x) in tf.index]
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
            font=_FONT, paper_bgcolor="white")
        out.append((cat, fig, note))
    return out


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# --------------------------------------------------------------------------- map


def _segments(xy: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Polylines joined into one x and one y array with NaN gaps (plotly breaks lines there)."""
    if not xy:
        return np.zeros(0), np.zeros(0)
    gap = np.array([np.nan])
    xs = np.concatenate([part for x, _ in xy for part in (np.asarray(x, dtype=float), gap)])
    ys = np.concatenate([part for _, y in xy for part in (np.asarray(y, dtype=float), gap)])
    return xs, ys


def _strings(items: list[str]) -> np.ndarray:
    """A list of strings as a NumPy array, which plotly validates in one step rather than item by item."""
    return np.array(items, dtype=object)


def _width_class(q: np.ndarray) -> np.ndarray:
    """Line width class 0..4 by the square root of the quantity relative to the largest."""
    if len(q) == 0:
        return np.zeros(0, dtype=int)
    rel = np.sqrt(q / max(float(q.max()), 1e-300))
    return np.minimum((rel * len(_WIDTHS)).astype(int), len(_WIDTHS) - 1)


def _links(pf: PlanFolder) -> pd.DataFrame:
    """Site-to-site links of direct synergies and cascades, summed per site pair, category and mode."""
    f = pf.flows[pf.flows["mode"].isin(["direct", "cascade"]) & (pf.flows["quantity"] > 0)]
    info = pf.resources.drop_duplicates("resource_id").set_index("resource_id")
    f = f.assign(a=info["site_id"].reindex(f["have_id"]).to_numpy(),
                 b=info["site_id"].reindex(f["want_id"]).to_numpy(),
                 category=info["category"].reindex(f["have_id"]).to_numpy())
    f = f.dropna(subset=["a", "b", "category"])
    f = f[f["a"] != f["b"]]
    return (f.groupby(["a", "b", "category", "mode"], sort=False)
             .agg(quantity=("quantity", "sum"), n=("quantity", "size")).reset_index())


def _initial_view(lon: np.ndarray, lat: np.ndarray, lat0: float,
                  ) -> tuple[list[float], list[float], int] | None:
    """Axis ranges around the bulk of the sites when a few lie far away, with how many are left out.

    A site is far when it is more than three times the 90th-percentile distance
    from the median site; with none far (or too few near), None: plotly's
    own ranges show every site.
    """
    if len(lon) < 4:
        return None
    kx = math.cos(math.radians(lat0))
    d = np.hypot((lon - np.median(lon)) * kx, lat - np.median(lat))
    near = d <= 3 * max(float(np.quantile(d, 0.9)), 1e-3)
    if near.all() or near.sum() < 3:
        return None
    x0, x1 = float(lon[near].min()), float(lon[near].max())
    y0, y1 = float(lat[near].min()), float(lat[near].max())
    mx, my = max(0.08 * (x1 - x0), 0.01), max(0.08 * (y1 - y0), 0.01)
    return [x0 - mx, x1 + mx], [y0 - my, y1 + my], int((~near).sum())


def _park_lines(fig: go.Figure, rest: pd.DataFrame, pos: pd.DataFrame, centroid: pd.DataFrame,
                max_pairs: int) -> str:
    """Draw the links not drawn one by one as park-to-park lines; return the note saying so."""
    pa = pos["park"].reindex(rest["a"]).to_numpy()
    pb = pos["park"].reindex(rest["b"]).to_numpy()
    d = pd.DataFrame({"p": np.where(pa <= pb, pa, pb), "q": np.where(pa <= pb, pb, pa),
                      "category": rest["category"].to_numpy()})
    within = int((d["p"] == d["q"]).sum())
    counts = d[d["p"] != d["q"]].groupby(["p", "q", "category"]).size().unstack(fill_value=0)
    text = f"The other {len(rest):,} are summed by park"
    if len(counts):
        counts["links"] = counts.sum(axis=1)
        counts = counts.sort_values("links", ascending=False, kind="stable")
        shown = counts.head(max_pairs)
        p_idx = shown.index.get_level_values(0)
        q_idx = shown.index.get_level_values(1)
        cp, cq = centroid.reindex(p_idx), centroid.reindex(q_idx)
        cls = _width_class(shown["links"].to_numpy(dtype=float))
        for k in range(len(_WIDTHS)):
            sel = cls == k
            if not sel.any():
                continue
            xs, ys = _segments([(np.array([x0, x1]), np.array([y0, y1])) for x0, x1, y0, y1 in
                                zip(cp["lon"][sel], cq["lon"][sel], cp["lat"][sel], cq["lat"][sel], strict=True)])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="other links, park to park",
                                     legendgroup="park-links", showlegend=k == int(cls.min()),
                                     line=dict(width=_WIDTHS[k], color="rgba(90,90,90,0.30)"),
                                     hoverinfo="skip"))
        cats = [c for c in shown.columns if c != "links"]
        hover = [f"{esc_plot(p)} &#8596; {esc_plot(q)}: {int(row['links']):,} links ("
                 + ", ".join(f"{int(row[c]):,} {c}" for c in cats if row[c]) + ")"
                 for (p, q), row in shown.iterrows()]
        fig.add_trace(go.Scatter(
            x=(cp["lon"].to_numpy() + cq["lon"].to_numpy()) / 2, y=(cp["lat"].to_numpy() + cq["lat"].to_numpy()) / 2,
            mode="markers", marker=dict(size=9, color="rgba(0,0,0,0)"), showlegend=False,
            legendgroup="park-links", hoverinfo="text", hovertext=_strings(hover)))
        text += (f": the {len(shown):,} park pairs with most links are drawn as grey lines between "
                 f"park centres (width by number of links)")
        if len(counts) > len(shown):
            text += f"; {len(counts) - len(shown):,} more park pairs are not drawn"
    if within:
        text += f"; {within:,} links within one park are not drawn"
    return text + "."


def site_map(pf: PlanFolder, max_links: int = 300, max_routes: int = 100,
             max_sites: int = 4000) -> tuple[go.Figure, list[str]]:
    """Sites on longitude/latitude with synergy links and milk-round routes.

    Sites are coloured by park and shaped by sector; a link's width grows with
    its quantity (relative to the largest of its category). Returns the figure
    and notes saying what was aggregated rather than drawn.
    """
    sites = pf.sites.drop_duplicates("site_id").copy()
    sites["park"] = sites["park"].replace("", "(no park)")
    sites["sector"] = sites["sector"].replace("", "(no sector)")
    pos = sites.set_index("site_id")[["lon", "lat", "park", "name"]]
    notes: list[str] = []
    fig = go.Figure()

    # parks: colours by size, and centroids for aggregated lines
    park_size = sites["park"].value_counts()
    park_colour = {p: _PARK_COLOURS[i] for i, p in enumerate(park_size.index[:len(_PARK_COLOURS)])}
    other_colour = "#a0a0a0"
    centroid = sites.groupby("park")[["lon", "lat"]].mean()

    # links
    links = _links(pf)
    drawn_sites: set[str] = set()
    if len(links):
        links["r"] = links.groupby("category")["quantity"].rank(ascending=False, method="first")
        links = links.sort_values(["r", "quantity"], ascending=[True, False], kind="stable")
        top, rest = links.head(max_links), links.iloc[max_links:]
        drawn_sites.update(top["a"])
        drawn_sites.update(top["b"])
        for cat, grp in top.groupby("category", sort=False):
            colour = _CAT_COLOUR.get(cat, "#555555")
            unit = BASE_UNIT.get(cat, "")
            cls = _width_class(grp["quantity"].to_numpy())
            first = True
            for k in range(len(_WIDTHS)):
                g = grp[cls == k]
                if g.empty:
                    continue
                a, b = pos.reindex(g["a"]), pos.reindex(g["b"])
                xs, ys = _segments([(np.array([x0, x1]), np.array([y0, y1])) for x0, x1, y0, y1 in
                                    zip(a["lon"], b["lon"], a["lat"], b["lat"], strict=True)])
                fig.add_trace(go.Scatter(
                    x=xs, y=ys, mode="lines", line=dict(width=_WIDTHS[k], color=_rgba(colour, 0.6)),
                    name=f"{cat} links ({unit}/yr)", legendgroup=f"links-{cat}", showlegend=first,
                    legendgrouptitle_text="Synergies and cascades" if first and cat == top["category"].iloc[0] else None,
                    hoverinfo="skip"))
                first = False
            a, b = pos.reindex(grp["a"]), pos.reindex(grp["b"])
            hover = [f"{esc_plot(na)} &#8594; {esc_plot(nb)}<br>{esc_plot(m)}: {fmt_number(q)} {unit}/yr"
                     + (f" ({n} flows)" if n > 1 else "")
                     for na, nb, m, q, n in zip(a["name"].fillna(""), b["name"].fillna(""), grp["mode"],
                                                grp["quantity"], grp["n"], strict=True)]
            fig.add_trace(go.Scatter(
                x=(a["lon"].to_numpy() + b["lon"].to_numpy()) / 2,
                y=(a["lat"].to_numpy() + b["lat"].to_numpy()) / 2,
                mode="markers", marker=dict(size=9, color="rgba(0,0,0,0)"), hovertext=_strings(hover),
                hoverinfo="text", showlegend=False, legendgroup=f"links-{cat}"))
        if len(rest):
            notes.append(f"The map draws the {len(top):,} largest of {len(links):,} site-to-site links "
                         f"(ranked within each category). " + _park_lines(fig, rest, pos, centroid, max_links)
                         + " Every link is in plan.xlsx.")

    # milk rounds
    routes = pf.routes
    if len(routes):
        q = pf.flows[pf.flows["mode"] == "milk_round"].groupby("route_id")["quantity"].sum()
        r = routes.assign(quantity=q.reindex(routes["route_id"]).fillna(0.0).to_numpy())
        r = r.sort_values("quantity", ascending=False, kind="stable")
        top_r = r.head(max_routes)
        cls = _width_class(top_r["quantity"].to_numpy())
        first = True
        hx, hy, ht = [], [], []
        for k in range(len(_WIDTHS)):
            g = top_r[cls == k]
            if g.empty:
                continue
            lines = []
            for rid, stops, km, cpy, qty in zip(g["route_id"], g["sites"], g["km"],
                                                g["collections_per_year"], g["quantity"], strict=True):
                ids = [s for s in str(stops).split(";") if s]
                p = pos.reindex(ids).dropna(subset=["lon", "lat"])
                if len(p) < 2:
                    continue
                drawn_sites.update(p.index)
                lines.append((p["lon"].to_numpy(), p["lat"].to_numpy()))
                hx.append(float(p["lon"].iloc[0]))
                hy.append(float(p["lat"].iloc[0]))
                ht.append(f"milk round {esc_plot(rid)}: {len(ids) - 1} pick-ups, {fmt_number(km)} km, "
                          f"{fmt_number(cpy)} collections/yr, {fmt_number(qty)} t/yr")
            if not lines:
                continue
            xs, ys = _segments(lines)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="milk rounds (t/yr)",
                                     legendgroup="milk", showlegend=first,
                                     line=dict(width=_WIDTHS[k], color="rgba(255,127,14,0.75)", dash="dash"),
                                     hoverinfo="skip"))
            first = False
        if hx:
            fig.add_trace(go.Scatter(x=np.array(hx), y=np.array(hy), mode="markers", showlegend=False, legendgroup="milk",
                                     marker=dict(size=9, color="rgba(0,0,0,0)"), hovertext=ht,
                                     hoverinfo="text"))
        if len(r) > len(top_r):
            notes.append(f"The map draws the {len(top_r):,} largest of {len(r):,} milk rounds; "
                         f"the other {len(r) - len(top_r):,} carry {fmt_number(float(r['quantity'].iloc[max_routes:].sum()))} t/yr "
                         "and are listed in plan.xlsx.")

    # sites
    if len(sites) > max_sites:
        shown = sites[sites["site_id"].isin(drawn_sites)].head(max_sites)
        cnt = sites.groupby("park").size()
        fig.add_trace(go.Scatter(
            x=centroid["lon"].to_numpy(), y=centroid["lat"].to_numpy(), mode="markers", name="parks (all sites)",
            marker=dict(size=np.clip(4 + 3 * np.sqrt(cnt.reindex(centroid.index).to_numpy()), 6, 40),
                        color="rgba(120,120,120,0.18)", line=dict(color="rgba(80,80,80,0.5)", width=1)),
            hovertext=_strings([f"{esc_plot(p)}: {n:,} sites" for p, n in cnt.reindex(centroid.index).items()]),
            hoverinfo="text"))
        notes.append(f"{len(sites):,} sites are too many to draw one by one: the map shows the "
                     f"{len(shown):,} sites on the links and routes drawn, and each park as a grey circle "
                     "sized by its number of sites.")
    else:
        shown = sites
    sector_size = shown["sector"].value_counts()
    symbol = {s: _SYMBOLS[i] for i, s in enumerate(sector_size.index[:len(_SYMBOLS) - 1])}
    first_park = True
    in_legend: set[str] = set()
    for park, grp in shown.groupby("park", sort=False):
        colour = park_colour.get(park, other_colour)
        name = esc_plot(park) if park in park_colour else "other parks"
        hover = [f"<b>{esc_plot(n or s)}</b><br>{esc_plot(s)}<br>park: {esc_plot(p)}<br>sector: {esc_plot(sec)}"
                 for n, s, p, sec in zip(grp["name"], grp["site_id"], grp["park"], grp["sector"], strict=True)]
        fig.add_trace(go.Scatter(
            x=grp["lon"].to_numpy(), y=grp["lat"].to_numpy(), mode="markers", name=name, legendgroup=f"park-{name}",
            legendgrouptitle_text="Parks" if first_park else None,
            showlegend=name not in in_legend,
            marker=dict(size=10, color=colour, symbol=_strings([symbol.get(s, _SYMBOLS[-1]) for s in grp["sector"]]),
                        line=dict(color="white", width=1)),
            hovertext=_strings(hover), hoverinfo="text"))
        first_park = False
        in_legend.add(name)
    for i, (sec, sym) in enumerate(list(symbol.items()) + (
            [("other sectors", _SYMBOLS[-1])] if len(sector_size) > len(symbol) else [])):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=esc_plot(sec), legendgroup="sectors",
                                 legendgrouptitle_text="Sectors" if i == 0 else None,
                                 marker=dict(size=9, color="#555555", symbol=sym)))

    lat0 = float(sites["lat"].median()) if len(sites) else 0.0
    view = _initial_view(sites["lon"].to_numpy(float), sites["lat"].to_numpy(float), lat0)
    if view is not None:
        xr, yr, outside = view
        fig.update_xaxes(range=xr)
        fig.update_yaxes(range=yr)
        notes.append(f"{outside:,} distant site(s) lie outside the first view, which shows where most sites "
                     "are: double-click the map twice (or use the zoom-out button) to see every site.")
    fig.update_layout(
        height=640, margin=dict(l=50, r=10, t=40, b=40), font=_FONT, hovermode="closest",
        title=dict(text="Sites, synergy links and milk rounds", x=0.01),
        plot_bgcolor="#f4f6f8", paper_bgcolor="white",
        legend=dict(groupclick="toggleitem", itemsizing="constant", font=dict(size=11)),
        xaxis=dict(title="longitude (deg E)", showgrid=True, gridcolor="white", zeroline=False),
        yaxis=dict(title="latitude (deg N)", showgrid=True, gridcolor="white", zeroline=False,
                   scaleanchor="x", scaleratio=1.0 / max(math.cos(math.radians(lat0)), 0.05)),
    )
    return fig, notes


# --------------------------------------------------------------------------- comparisons

_METRICS = ["cost", "landfill_t", "co2_t", "n_synergies", "n_milk_rounds"]
_PARETO_AXES = ["cost", "co2_t", "landfill_t"]
_METRIC_OF = {"cost": "cost", "co2": "co2_t", "landfill": "landfill_t", "co2_t": "co2_t",
              "landfill_t": "landfill_t"}


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
        fig.add_trace(go.Bar(x=labels, y=df[m], name=esc_plot(m), marker_color=_PARK_COLOURS[i % len(_PARK_COLOURS)],
                             showlegend=False, hovertemplate="%{x}<br>" + esc_plot(m) + ": %{y:,.4g}<extra></extra>"),
                      row=1, col=i + 1)
    fig.update_layout(height=420, margin=dict(l=50, r=10, t=60, b=90), font=_FONT,
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
    if b in numeric:
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
                               line=dict(color="#2ca02c"), hovertext=_strings(hover), hoverinfo="text"))
    fig.update_layout(height=420, margin=dict(l=60, r=10, t=50, b=50), font=_FONT, plot_bgcolor="#f4f6f8",
                      title=dict(text=f"Pareto front: {esc_plot(x)} against {esc_plot(y)}", x=0.01),
                      xaxis_title=esc_plot(x), yaxis_title=esc_plot(y))
    return fig
