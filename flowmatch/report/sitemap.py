"""The report's map: sites with synergy links and milk-round routes.

Sites are drawn on longitude/latitude axes (no map tiles, so the report works
offline), coloured by park and shaped by sector.

A plan can hold 10^5 flows; a browser cannot draw that many lines quickly. The
map draws the ``max_links`` largest links (ranked within each category, so
that every category shows) and the ``max_routes`` largest milk rounds one by
one, and aggregates the rest into park-to-park lines; :func:`site_map` returns
notes saying what it aggregated, for the page to show.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from flowmatch.inputs.units import BASE_UNIT
from flowmatch.matching.gaps import sector_names
from flowmatch.plans.folder import PlanFolder
from flowmatch.report.format import esc_plot, fmt_number
from flowmatch.report.mapview import basemap_traces, map_view
from flowmatch.report.style import FONT, PARK_COLOURS, rgba, strings

__all__ = ["site_map"]

_CAT_COLOUR = {"material": "#8c564b", "water": "#1f77b4", "energy": "#d62728"}
_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon",
            "pentagon", "triangle-down", "star-square", "hourglass"]
_WIDTHS = (1.2, 2.4, 3.8, 5.5, 7.5)


def _segments(xy: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Polylines joined into one x and one y array with NaN gaps (plotly breaks lines there)."""
    if not xy:
        return np.zeros(0), np.zeros(0)
    gap = np.array([np.nan])
    xs = np.concatenate([part for x, _ in xy for part in (np.asarray(x, dtype=float), gap)])
    ys = np.concatenate([part for _, y in xy for part in (np.asarray(y, dtype=float), gap)])
    return xs, ys


def _width_class(q: np.ndarray) -> np.ndarray:
    """Line width class 0..4 by the square root of the quantity relative to the largest."""
    if len(q) == 0:
        return np.zeros(0, dtype=int)
    rel = np.sqrt(q / max(float(q.max()), 1e-300))
    return np.minimum((rel * len(_WIDTHS)).astype(int), len(_WIDTHS) - 1)


def _links(pf: PlanFolder) -> pd.DataFrame:
    """Site-to-site links of direct synergies and cascades, summed per site pair, category and mode."""
    f = pf.flows[pf.flows["mode"].isin(["direct", "cascade", "regenerated"]) & (pf.flows["quantity"] > 0)]
    info = pf.resources.drop_duplicates("resource_id").set_index("resource_id")
    f = f.assign(a=info["site_id"].reindex(f["have_id"]).to_numpy(),
                 b=info["site_id"].reindex(f["want_id"]).to_numpy(),
                 category=info["category"].reindex(f["have_id"]).to_numpy())
    f = f.dropna(subset=["a", "b", "category"])
    f = f[f["a"] != f["b"]]
    return (f.groupby(["a", "b", "category", "mode"], sort=False)
             .agg(quantity=("quantity", "sum"), n=("quantity", "size")).reset_index())


_NACE = re.compile(r"[A-Ua-u]?\d{2}(\.?\d{1,2})*")


def _sector(code: str) -> str:
    """A sector code with its NACE division's name: ``C23.6 (other non-metallic mineral products)``."""
    name = sector_names(code) if _NACE.fullmatch(code) else code
    return name if len(name) <= 60 else name[:58] + "..."


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
            legendgroup="park-links", hoverinfo="text", hovertext=strings(hover)))
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
    park_colour = {p: PARK_COLOURS[i] for i, p in enumerate(park_size.index[:len(PARK_COLOURS)])}
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
                    x=xs, y=ys, mode="lines", line=dict(width=_WIDTHS[k], color=rgba(colour, 0.6)),
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
                mode="markers", marker=dict(size=9, color="rgba(0,0,0,0)"), hovertext=strings(hover),
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
            hovertext=strings([f"{esc_plot(p)}: {n:,} sites" for p, n in cnt.reindex(centroid.index).items()]),
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
        hover = [f"<b>{esc_plot(n or s)}</b><br>{esc_plot(s)}<br>park: {esc_plot(p)}<br>sector: {esc_plot(_sector(sec))}"
                 for n, s, p, sec in zip(grp["name"], grp["site_id"], grp["park"], grp["sector"], strict=True)]
        fig.add_trace(go.Scatter(
            x=grp["lon"].to_numpy(), y=grp["lat"].to_numpy(), mode="markers", name=name, legendgroup=f"park-{name}",
            legendgrouptitle_text="Parks" if first_park else None,
            showlegend=name not in in_legend,
            marker=dict(size=10, color=colour, symbol=strings([symbol.get(s, _SYMBOLS[-1]) for s in grp["sector"]]),
                        line=dict(color="white", width=1)),
            hovertext=strings(hover), hoverinfo="text"))
        first_park = False
        in_legend.add(name)
    for i, (sec, sym) in enumerate(list(symbol.items()) + (
            [("other sectors", _SYMBOLS[-1])] if len(sector_size) > len(symbol) else [])):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=esc_plot(_sector(sec)), legendgroup="sectors",
                                 legendgrouptitle_text="Sectors" if i == 0 else None,
                                 marker=dict(size=9, color="#555555", symbol=sym)))

    lat0 = float(sites["lat"].median()) if len(sites) else 0.0
    view = map_view(sites["lon"].to_numpy(float), sites["lat"].to_numpy(float), sites["site_id"].to_numpy())
    base = basemap_traces(view.x_range, view.y_range)
    fig.add_traces(base)
    if base:  # under the sites and links: move the base layer first
        fig.data = fig.data[-len(base):] + fig.data[:-len(base)]
    fig.update_xaxes(range=list(view.x_range))
    fig.update_yaxes(range=list(view.y_range))
    if view.far:
        notes.append(view.note())
        fig.update_layout(annotations=view.arrows())
    fig.update_layout(
        height=640, margin=dict(l=50, r=10, t=40, b=40), font=FONT, hovermode="closest",
        title=dict(text="Sites, synergy links and milk rounds", x=0.01),
        plot_bgcolor="#f4f6f8", paper_bgcolor="white",
        legend=dict(groupclick="toggleitem", itemsizing="constant", font=dict(size=11)),
        xaxis=dict(title="longitude (deg E)", showgrid=True, gridcolor="white", zeroline=False, constrain="domain"),
        yaxis=dict(title="latitude (deg N)", showgrid=True, gridcolor="white", zeroline=False, constrain="domain",
                   scaleanchor="x", scaleratio=1.0 / max(math.cos(math.radians(lat0)), 0.05)),
    )
    return fig, notes
