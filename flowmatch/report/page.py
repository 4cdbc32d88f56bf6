"""The plan report: one self-contained ``report.html`` and a ``plan.xlsx``.

``write_report(plan_dir)`` reads only the plan folder (see
:mod:`flowmatch.plans.folder`) and writes, atomically, ``report.html`` (headline
figures against the baseline, resource-fate Sankey diagrams, a map of sites
with synergy links and milk rounds, the plan's tables, sortable, the gap
analysis and, for a what-if grid or a Pareto front, the comparison chart) and
``plan.xlsx`` (see :mod:`flowmatch.report.workbook`). plotly.js is embedded once in the
page, so the report opens offline and needs no tile server: the map is drawn on
longitude/latitude axes.

Every string from the user's data is HTML-escaped. A plan too large to draw or
list one row at a time is aggregated (see :mod:`flowmatch.report.charts` and
:mod:`flowmatch.report.sitemap`) and the page says so next to the figure or
table concerned.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from flowmatch.data import data_text
from flowmatch.files import atomic_write
from flowmatch.inputs.labels import check_lang, type_label
from flowmatch.inputs.units import CATEGORIES
from flowmatch.matching.gaps import GOOD_SCORE, gap_analysis, sector_names
from flowmatch.plans.folder import PLAN_FORMAT, PlanFolder, read_plan_folder
from flowmatch.plans.staging import stage
from flowmatch.report.charts import (
    comparison_figure,
    headline_figures,
    pareto_figure,
    sankey_figures,
)
from flowmatch.report.format import esc, fmt_number, fmt_scaled
from flowmatch.report.sitemap import site_map
from flowmatch.report.synergies import headline_money, synergy_figure, synergy_rows
from flowmatch.report.workbook import write_plan_xlsx

__all__ = ["write_report", "render_report", "report_title", "park_name", "ReportLimits"]

log = logging.getLogger(__name__)

_PLOT_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


@dataclass(frozen=True)
class ReportLimits:
    """How much of a large plan the page draws and lists one by one.

    Attributes
    ----------
    max_links : int
        Site-to-site links drawn on the map; the rest are aggregated by park.
    max_routes : int
        Milk rounds drawn on the map.
    max_sites : int
        Sites drawn as markers; beyond it, only those on drawn links, plus parks.
    max_rows : int
        Rows per table on the page (all rows are in ``plan.xlsx``).
    max_types : int
        Resource types per Sankey; the rest are summed as "other types".
    """

    max_links: int = 300
    max_routes: int = 100
    max_sites: int = 4000
    max_rows: int = 500
    max_types: int = 12


@dataclass
class _Page:
    """The page being assembled: HTML sections and the figures to draw."""

    sections: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (div id, figure JSON)
    nav: list[tuple[str, str]] = field(default_factory=list)

    def figure(self, div_id: str, fig) -> str:
        """Queue ``fig`` to be drawn into a new div and return the div."""
        self.figures.append((div_id, pio.to_json(fig, validate=False)))
        return f'<div id="{div_id}" class="fig" style="height:{int(fig.layout.height or 450)}px"></div>'

    def section(self, sid: str, title: str, body: str) -> None:
        self.nav.append((sid, title))
        self.sections.append(f'<section id="{sid}"><h2>{esc(title)}</h2>\n{body}\n</section>')


def _notes(notes: list[str]) -> str:
    return "".join(f'<p class="note">{esc(n)}</p>' for n in notes if n)


# --------------------------------------------------------------------------- tables


def _cell(v, kind: str) -> str:
    if kind == "num":
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            return '<td class="num" data-v=""></td>'
        return f'<td class="num" data-v="{float(v)!r}">{fmt_number(float(v))}</td>'
    return f"<td>{esc(v)}</td>"


def html_table(df: pd.DataFrame, columns: list[tuple[str, str, str]], table_id: str,
               total: int | None = None, what: str = "rows", which: str = "largest") -> str:
    """A sortable HTML table of ``df``; ``columns`` are ``(column, heading, kind)``, kind ``num`` or ``text``.

    ``total`` is the number of rows before the caller cut the table short (to
    the ``which`` rows: largest, first); the table then says how many it shows.
    """
    if df.empty:
        return f'<p class="empty">No {esc(what)}.</p>'
    head = "".join(f'<th data-kind="{k}" scope="col">{esc(h)}</th>' for _, h, k in columns)
    cols = [(df[c].to_numpy() if c in df else np.full(len(df), ""), k) for c, _, k in columns]
    body = "\n".join("<tr>" + "".join(_cell(v[i], k) for v, k in cols) + "</tr>" for i in range(len(df)))
    note = ""
    if total is not None and total > len(df):
        note = _notes([f"Showing the {len(df):,} {which} of {total:,} {what}; all are in plan.xlsx."])
    return (f'{note}<div class="scroll"><table class="sortable" id="{table_id}"><thead><tr>{head}</tr>'
            f"</thead><tbody>\n{body}\n</tbody></table></div>")


def _largest(df: pd.DataFrame, by: str, n: int, group: str | None = None) -> pd.DataFrame:
    """The ``n`` largest rows by ``by``, ranked within ``group`` so that every group shows."""
    if group is None or group not in df:
        return df.sort_values(by, ascending=False, kind="stable").head(n)
    r = df.groupby(group)[by].rank(ascending=False, method="first")
    top = df.assign(_r=r).sort_values(["_r", by], ascending=[True, False], kind="stable").head(n)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return (top.assign(_c=top[group].map(order).fillna(len(order)))
               .sort_values(["_c", by], ascending=[True, False], kind="stable").drop(columns=["_r", "_c"]))


def _flow_rows(pf: PlanFolder, modes: list[str]) -> pd.DataFrame:
    f = pf.flows[pf.flows["mode"].isin(modes)]
    res = pf.resources.drop_duplicates("resource_id").set_index("resource_id")
    sites = pf.sites.drop_duplicates("site_id").set_index("site_id")
    hs = res["site_id"].reindex(f["have_id"]).to_numpy()
    ws = res["site_id"].reindex(f["want_id"]).to_numpy()

    def name(ids):
        n = sites["name"].reindex(ids).fillna("").to_numpy()
        return np.where(n == "", ids, n)

    grade = {}
    if "temperature_c" in res.columns:  # heat: the level each end works at, and the have's exergy
        num = {c: pd.to_numeric(res[c], errors="coerce") for c in ("temperature_c", "exergy_grade")}
        grade = {"t_have": num["temperature_c"].reindex(f["have_id"]).to_numpy(),
                 "t_want": num["temperature_c"].reindex(f["want_id"]).to_numpy(),
                 "grade": num["exergy_grade"].reindex(f["have_id"]).to_numpy()}
    return f.assign(**grade, category=res["category"].reindex(f["have_id"]).to_numpy(),
                    type=res["type"].reindex(f["have_id"]).to_numpy(),
                    from_site=name(hs), from_park=sites["park"].reindex(hs).to_numpy(),
                    to_site=name(ws), want_type=res["type"].reindex(f["want_id"]).to_numpy())


_FLOW_COLS = [("from_site", "from site", "text"), ("from_park", "park", "text"),
              ("have_id", "have", "text"), ("type", "type", "text"), ("to_site", "to site", "text"),
              ("want_id", "want", "text"), ("want_type", "want type", "text"),
              ("quantity", "quantity /yr", "num"), ("unit", "unit", "text"),
              ("distance_km", "km", "num"), ("cost", "cost /yr", "num"), ("co2_kg", "kg CO2e /yr", "num")]


#: Cascades add the heat grade: the have's supply and the want's required temperature, and the
#: have's exergy share (Carnot factor; docs/cascades.md).
_CASCADE_COLS = [*_FLOW_COLS[:8], ("t_have", "from C", "num"), ("t_want", "needs C", "num"),
                 ("grade", "exergy grade", "num"), *_FLOW_COLS[8:]]


def _route_rows(pf: PlanFolder) -> pd.DataFrame:
    r = pf.routes
    milk = pf.flows[pf.flows["mode"] == "milk_round"]
    q = milk.groupby("route_id").agg(quantity=("quantity", "sum"), cost=("cost", "sum"),
                                     co2_kg=("co2_kg", "sum"), pickups=("have_id", "nunique"))
    names = pf.sites.drop_duplicates("site_id").set_index("site_id")["name"]
    stops = [" > ".join(names.get(s) or s for s in str(x).split(";") if s) for x in r["sites"]]
    return r.assign(stops=stops, **{c: q[c].reindex(r["route_id"]).fillna(0).to_numpy()
                                    for c in ("quantity", "cost", "co2_kg", "pickups")})


_ROUTE_COLS = [("route_id", "route", "text"), ("stops", "stops (in order)", "text"),
               ("pickups", "haves collected", "num"), ("km", "km per round", "num"),
               ("collections_per_year", "rounds /yr", "num"), ("quantity", "t /yr", "num"),
               ("cost", "flow cost /yr", "num"), ("co2_kg", "kg CO2e /yr", "num")]

_GAP_COLS = [("resource_id", "have", "text"), ("site_name", "site", "text"), ("park", "park", "text"),
             ("type_text", "type", "text"), ("quantity", "quantity /yr", "num"), ("unit", "unit", "text"),
             ("best_score", "best score", "num"), ("uses_text", "used elsewhere as", "text"),
             ("recruit_text", "sectors to recruit", "text"),
             ("present_text", "such sectors already here", "text")]


# --------------------------------------------------------------------------- sections


def _money_lines(pf: PlanFolder) -> tuple[str, bool]:
    """The headline's two money lines (cash saved; carbon value at the carbon price), and whether there are any."""
    money = headline_money(pf.summary)
    if money is None:
        return "", False
    cur = str(pf.summary.get("currency", "")).strip()
    unit = f"{cur} per year" if cur else "per year"
    what = {"cash_saved": "cash saved", "carbon_value": "carbon value at the carbon price"}
    lines = []
    for key, _, saved, plan, base in money:
        num, word = fmt_scaled(saved)
        lines.append(f'<p class="money" data-key="{key}" data-value="{saved!r}"><b>{num}'
                     f'{" " + word if word else ""} {esc(unit)}</b> {esc(what[key])} '
                     f'<span class="detail">(plan {esc(fmt_number(plan))} vs today {esc(fmt_number(base))})</span></p>')
    return '<div class="money-lines">' + "".join(lines) + "</div>", True


def _headline_section(page: _Page, pf: PlanFolder) -> None:
    cards = []
    money, split = _money_lines(pf)
    for h in headline_figures(pf):
        if split and h.key == "cost_saved":  # cash and carbon are shown apart, not as one mixed number
            continue
        count = h.key.startswith("n_")
        cls = "count" if count else ("neg" if h.value < 0 else "")
        num, word = (f"{h.value:,.0f}", "") if count else fmt_scaled(h.value)
        text = num + (f'<span class="scale"> {word}</span>' if word else "")
        cards.append(
            f'<div class="kpi" data-key="{h.key}" data-value="{h.value!r}">'
            f'<div class="label">{esc(h.label)}</div>'
            f'<div class="value {cls}">{text}</div><div class="unit">{esc(h.unit)}</div>'
            f'<div class="detail">{esc(h.detail)}</div></div>')
    s = pf.summary
    rows = []
    for cat in CATEGORIES:
        c = s["by_category"].get(cat)
        if not c:
            continue
        rows.append({"category": cat, **{k: c.get(k) for k in ("supply", "demand", "reused", "disposed", "virgin")}})
    cat_table = html_table(pd.DataFrame(rows), [("category", "category", "text")] + [
        (k, k, "num") for k in ("supply", "demand", "reused", "disposed", "virgin")], "t-categories",
        what="categories")
    lead = ("What the plan changes each year against today's baseline (every have disposed, every "
            "want bought new). For water, virgin means fresh water and disposed wastewater; for energy, "
            "virgin means hot utility and disposed cold utility.")
    page.section("headline", "Headline figures",
                 f'<p class="lead">{esc(lead)}</p>{money}<div class="kpis">{"".join(cards)}</div>'
                 f"<h3>By category (base units per year: t, m3, MWh)</h3>{cat_table}")


def _fate_section(page: _Page, pf: PlanFolder, lim: ReportLimits, lang: str = "en") -> None:
    sankeys = sankey_figures(pf, max_types=lim.max_types, lang=lang)
    if not sankeys:
        page.section("fate", "Resource fate", '<p class="empty">The plan has no haves.</p>')
        return
    body = ['<p class="lead">Each diagram follows one category\'s haves from the total pool, through '
            "their resource types, to what the plan does with them: reused in a direct synergy, a milk "
            "round or a cascade, or still disposed.</p>"]
    for cat, fig, note in sankeys:
        body.append(_notes([note]) + page.figure(f"fig-sankey-{cat}", fig))
    page.section("fate", "Resource fate", "\n".join(body))


def _synergy_section(page: _Page, pf: PlanFolder, lim: ReportLimits, lang: str) -> None:
    """What each synergy is worth: the bar chart of cash and carbon value, and the table, best first."""
    rows, from_file = synergy_rows(pf, lang)
    cur = str(pf.summary.get("currency", "")).strip()
    per = f"{cur} /yr" if cur else "/yr"
    lead = ("Each synergy the plan chose, best first: its cash per year (avoided disposal and virgin "
            "purchase, less transport, operating, fixed and annualised capital costs) and its carbon value "
            "at the carbon price; net benefit is their sum.")
    notes = []
    if from_file and len(rows):
        cash, carbon = float(rows["net_cash"].sum()), float(rows["carbon_value"].sum())
        a_year = f"{cur} a year".strip()
        notes.append(f"In all, the {len(rows):,} synergies are worth {fmt_number(cash + carbon)} {a_year}: "
                     f"{fmt_number(cash)} cash and {fmt_number(carbon)} carbon value, the headline's saving.")
    if not from_file:
        notes.append("This plan folder has no synergies.csv (written by an older flowmatch): the cash is "
                     "estimated from flows.csv and resources.csv (avoided disposal and virgin cost less the "
                     "flow's cost) and there is no carbon value. Write the plan again for the full figures.")
    if rows.empty:
        page.section("worth", "What each synergy is worth", f'<p class="lead">{esc(lead)}</p>'
                     + _notes(notes) + '<p class="empty">The plan has no synergies.</p>')
        return
    top = rows.head(lim.max_rows)
    shown = rows.head(min(lim.max_rows, 40))
    if len(shown) < len(rows):
        notes.append(f"The chart shows the {len(shown):,} best of {len(rows):,} synergies.")
    cols = [("synergy_id", "synergy", "text"), ("from_site", "from site", "text"), ("what", "what", "text"),
            ("to_site", "to site", "text"), ("for_what", "replaces", "text"), ("mode", "mode", "text"),
            ("quantity", "quantity /yr", "num"), ("unit", "unit", "text"),
            # what it is worth first (the table scrolls sideways), then how that adds up
            ("net_total", f"net benefit {per}", "num"), ("net_cash", f"cash {per}", "num"),
            ("carbon_value", f"carbon value {per}", "num")]
    if "payback_years" in rows.columns:
        cols.append(("payback_years", "payback (years)", "num"))
    cols += [("avoided_disposal", f"avoided disposal {per}", "num"),
             ("avoided_virgin", f"avoided virgin {per}", "num"), ("transport", f"transport {per}", "num")]
    if "operating" in rows.columns:
        cols.append(("operating", f"operating {per}", "num"))
    cols += [("fixed", f"fixed {per}", "num"), ("capex_annual", f"capital {per}", "num")]
    body = (f'<p class="lead">{esc(lead)}</p>{_notes(notes)}'
            + page.figure("fig-worth", synergy_figure(shown, cur))
            + html_table(top, cols, "t-worth", total=len(rows), what="synergies", which="best"))
    page.section("worth", "What each synergy is worth", body)


def _map_section(page: _Page, pf: PlanFolder, lim: ReportLimits) -> None:
    fig, notes = site_map(pf, max_links=lim.max_links, max_routes=lim.max_routes, max_sites=lim.max_sites)
    lead = ("Sites on longitude and latitude, coloured by park and shaped by sector. Lines are the plan's "
            "synergies and cascades (width by quantity, relative to the largest of their category) and "
            "milk rounds (dashed). Hover for details; drag to zoom, double-click to reset.")
    page.section("map", "Map", f'<p class="lead">{esc(lead)}</p>{_notes(notes)}{page.figure("fig-map", fig)}')


def _tables_section(page: _Page, pf: PlanFolder, lim: ReportLimits) -> None:
    parts = []
    for modes, title, tid in ((["direct"], "Direct synergies", "t-synergies"),
                              (["cascade", "regenerated"], "Cascades (water and heat)", "t-cascades")):
        rows = _flow_rows(pf, modes)
        top = _largest(rows, "quantity", lim.max_rows, "category")
        cols = _CASCADE_COLS if tid == "t-cascades" and "grade" in rows.columns else _FLOW_COLS
        parts.append(f"<h3>{esc(title)} ({len(rows):,})</h3>"
                     + html_table(top, cols, tid, total=len(rows), what=title.lower()))
    routes = _route_rows(pf)
    top = _largest(routes, "quantity", lim.max_rows)
    parts.append(f"<h3>Milk rounds ({len(routes):,})</h3>"
                 + html_table(top, _ROUTE_COLS, "t-routes", total=len(routes), what="milk rounds"))
    milk = _flow_rows(pf, ["milk_round"])
    top = _largest(milk, "quantity", lim.max_rows)
    parts.append(f"<h3>Milk-round collections ({len(milk):,})</h3>"
                 + html_table(top, [("route_id", "route", "text"), *_FLOW_COLS], "t-milk",
                              total=len(milk), what="milk-round collections"))
    page.section("tables", "The plan's tables",
                 '<p class="lead">Click a column heading to sort; click again to reverse.</p>' + "".join(parts))


def _rules_section(page: _Page, pf: PlanFolder) -> None:
    """The inventory's expert rules and what each did to the plan (only when there are rules)."""
    rules = pd.DataFrame(pf.summary.get("rules") or [])
    if rules.empty:
        return
    rules = rules.assign(binding_text=np.where(rules["binding"].astype(bool), "yes", "no"))
    cols = [("rule_id", "rule", "text"), ("action", "action", "text"), ("have", "have", "text"),
            ("want", "want", "text"), ("value", "value", "num"), ("unit", "unit", "text"),
            ("links", "links", "num"), ("candidates_removed", "candidates removed", "num"),
            ("flow", "flow under it", "num"), ("binding_text", "binding", "text"), ("slack", "slack", "num"),
            ("marginal", "worth of one unit more", "num"),
            ("reason", "reason", "text"), ("note", "note", "text")]
    if "capex_annual" in rules.columns and rules["capex_annual"].notna().any():
        cur = str(pf.summary.get("currency", "")).strip()
        built = rules["built"].map({True: "yes", False: "no"}).fillna("") if "built" in rules.columns else ""
        rules = rules.assign(built_text=built)
        cols[10:10] = [("capex_annual", f"capital {cur} /yr".replace("  ", " "), "num"),
                       ("built_text", "built", "text")]
    lead = ("The inventory's expert rules. A cap or force is binding when the flow under it sits at its "
            "value; a forbid when it took links away; a minimum size when a link runs at exactly it. The "
            "worth of one unit more is the change of the minimised objective if a cap or force were one "
            "unit higher, with the plan's links held (negative: it would save).")
    page.section("rules", "Expert rules", f'<p class="lead">{esc(lead)}</p>'
                 + html_table(rules, cols, "t-rules", what="rules"))


def _gaps_section(page: _Page, gaps: pd.DataFrame | None, lim: ReportLimits) -> None:
    lead = (f"Haves with no candidate scoring at least {GOOD_SCORE:g}, largest first in each category, "
            "with the want types that have taken such a resource elsewhere (knowledge base of documented "
            "exchanges) and the sectors that do so: those missing from this inventory are the ones to "
            "recruit.")
    if gaps is None:
        body = (f'<p class="lead">{esc(lead)}</p><p class="note">This plan folder has no candidates.parquet, '
                "so there is no gap analysis. Run <code>flowmatch gaps INVENTORY</code>, or "
                "<code>flowmatch match INVENTORY -o FOLDER</code> to add the candidates, and report again.</p>")
    elif gaps.empty:
        body = f'<p class="lead">{esc(lead)}</p><p class="empty">No gaps: every have has a good candidate.</p>'
    else:
        tot = gaps.groupby("category", sort=False).agg(n=("quantity", "size"), q=("quantity", "sum"),
                                                       unit=("unit", "first"))
        summary = "; ".join(f"{c}: {r.n:,} haves, {fmt_number(r.q)} {r.unit}/yr" for c, r in tot.iterrows())
        top = _largest(gaps, "quantity", lim.max_rows, "category")
        top = top.assign(
            type_text=np.where(top["type_label"] != "", top["type_label"] + " (" + top["type"] + ")", top["type"]),
            uses_text=top["uses"].replace("", "none documented"),
            recruit_text=top["recruit_sectors"].map(sector_names),
            present_text=top["present_sectors"].map(sector_names))
        body = (f'<p class="lead">{esc(lead)}</p><p><b>{esc(summary)}</b></p>'
                + html_table(top, _GAP_COLS, "t-gaps", total=len(gaps), what="gaps"))
    page.section("gaps", "Gap analysis: whom to recruit", body)


def _comparison_section(page: _Page, pf: PlanFolder, lim: ReportLimits) -> None:
    for df, sid, title, make in ((pf.comparison, "whatif", "What-if scenarios", comparison_figure),
                                 (pf.pareto, "pareto", "Pareto front", pareto_figure)):
        if df is None:
            continue
        cols = [(c, c, "num" if pd.api.types.is_numeric_dtype(df[c]) else "text") for c in df.columns]
        body = page.figure(f"fig-{sid}", make(df)) + html_table(
            df.head(lim.max_rows), cols, f"t-{sid}", total=len(df), what="rows", which="first")
        page.section(sid, title, body)


def _footer(pf: PlanFolder) -> str:
    s = pf.summary
    bits = [f"flowmatch {esc(s.get('flowmatch_version', ''))}".strip(), f"plan format {PLAN_FORMAT}"]
    t = s.get("timings") or {}
    if isinstance(t, dict) and t:
        bits.append("timings: " + ", ".join(f"{esc(k)} {float(v):.2f} s" for k, v in t.items()
                                          if isinstance(v, int | float)))
    bits.append(f"report written {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    return " &middot; ".join(bits)


def _asset(name: str) -> str:
    return data_text(name)


def park_name(pf: PlanFolder) -> str:
    """The park the plan is about: the park of most sites (``""`` when no site names a park)."""
    parks = pf.sites.drop_duplicates("site_id")["park"].astype(str).str.strip()
    parks = parks[parks != ""]
    return str(parks.value_counts().index[0]) if len(parks) else ""


def report_title(pf: PlanFolder, title: str | None = None) -> str:
    """The page's title: ``title`` if given, else the park's name, else the folder's name."""
    if title and title.strip():
        return title.strip()
    park = park_name(pf) if pf.has_plan else ""
    if park:
        return f"{park}: industrial symbiosis plan"
    return f"flowmatch plan: {pf.path.resolve().name}"


def render_report(pf: PlanFolder, gaps: pd.DataFrame | None = None,
                  limits: ReportLimits | None = None, lang: str = "en", title: str | None = None) -> str:
    """The report page of a plan folder, as one self-contained HTML string.

    ``gaps`` is the gap analysis of the plan's candidates (None: the page says
    there is none); type labels are in ``lang`` (``en`` or ``zh``); ``title``
    replaces the page's title (by default the park's name, see :func:`report_title`).
    """
    lim = limits or ReportLimits()
    page = _Page()
    title = report_title(pf, title)
    meta = ""
    if pf.has_plan:
        s = pf.summary
        status = str(s.get("status", ""))
        gap = s.get("gap")
        gap_txt = f", gap {100 * float(gap):.2f}%" if isinstance(gap, int | float) and gap else ""
        badge = "" if status == "optimal" else " warn"
        meta = f'status <span class="badge{badge}">{esc(status)}</span>{esc(gap_txt)}'
        for key, label in (("minimised", "minimised"), ("solver", "solver")):
            if s.get(key):
                meta += f" &middot; {label} {esc(s[key])}"
        if status != "optimal":
            meta += esc(" (the best plan found when the solver stopped; see the gap)")
        _headline_section(page, pf)
        _synergy_section(page, pf, lim, lang)
        _map_section(page, pf, lim)
        _fate_section(page, pf, lim, lang)
        _tables_section(page, pf, lim)
        _rules_section(page, pf)
        _gaps_section(page, gaps, lim)
    _comparison_section(page, pf, lim)
    if pf.changes is not None:  # a what-if folder: which synergies each scenario changed
        from flowmatch.report.changes import changes_body

        page.section("changes", "What each scenario changed", changes_body(pf.changes, html_table, lim.max_rows))
    nav = "".join(f'<a href="#{sid}">{esc(t)}</a>' for sid, t in page.nav)
    draw = "\n".join(f'Plotly.newPlot("{div}", F["{div}"].data, F["{div}"].layout, C);'
                     for div, _ in page.figures)
    figs = ",\n".join(f'"{div}": {js}' for div, js in page.figures)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="flowmatch">
<title>{esc(title)}</title>
<style>{_asset("report.css")}</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<header><h1>{esc(title)}</h1><div class="meta">{meta}</div></header>
<nav>{nav}</nav>
<main>
{chr(10).join(page.sections)}
</main>
<footer>{_footer(pf)}</footer>
<script>
var C = {json.dumps(_PLOT_CONFIG)};
var F = {{{figs}}};
{draw}
</script>
<script>{_asset("report.js")}</script>
</body>
</html>
"""


def write_report(plan_dir: str | Path, limits: ReportLimits | None = None, lang: str = "en",
                 title: str | None = None) -> Path:
    """Write ``report.html`` and ``plan.xlsx`` into a plan folder, as one new version of the folder.

    The folder is checked against its ``manifest.json`` first, then written
    again through :func:`flowmatch.plans.staging.stage` (its files, the report
    and the workbook, a new manifest), so readers never see a report beside
    another run's plan.

    Parameters
    ----------
    plan_dir : str or Path
        A folder written by ``flowmatch optimise`` (or one holding only a
        what-if ``comparison.csv`` or a ``pareto.csv``).
    limits : ReportLimits, optional
        How much of a large plan to draw and list one by one.
    lang : {"en", "zh"}
        Language of the type labels (Sankey, synergies, gap analysis).
    title : str, optional
        The page's title; by default the park's name (the park of most sites).

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.

    Raises
    ------
    PlanFolderError
        A plan file is missing or damaged, or the folder has another format version.
    """
    final = Path(plan_dir)
    check_lang(lang)
    read_plan_folder(final)  # a damaged or mixed folder is refused before anything is staged
    with stage(final, "plan", carry=True) as st:
        pf = read_plan_folder(st.path)
        gaps = None
        if pf.has_plan and pf.candidates is not None:
            gaps = gap_analysis({"sites": pf.sites, "resources": pf.resources}, pf.candidates)
        if gaps is not None and lang != "en":
            gaps = gaps.assign(type_label=[type_label(t, lang) for t in gaps["type"].astype(str)])
        html = render_report(pf, gaps, limits, lang, title)
        write_plan_xlsx(pf, gaps, pf.path / "plan.xlsx")

        def _write(p: Path) -> None:
            p.write_text(html, encoding="utf-8")

        atomic_write(pf.path / "report.html", _write)
        st.seal()
    out = final / "report.html"
    log.info("wrote %s (%.1f MB) and plan.xlsx", out, len(html) / 1e6)
    return out
