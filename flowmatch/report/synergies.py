"""What each synergy is worth: the report's table and bar chart of cash and carbon value.

A plan folder written by flowmatch since issue 13 holds ``synergies.csv``: one
row per chosen synergy, with its yearly cash (``net_cash``: avoided disposal
and virgin purchase, less transport, fixed and annualised capital costs) and
carbon value (``carbon_value``, at the plan's carbon price), ``net_total``
being their sum. An older folder has no such file: the table is then
estimated from ``flows.csv`` and ``resources.csv`` (avoided disposal and virgin
cost at the resources' prices, less the flow's cost; no carbon value, since
the folder does not hold the carbon price), and the page says so.

Names are the user's: sites by name, resources by their ``name`` (else the
taxonomy's label of their type, in the report's language), never only codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from flowmatch.errors import PlanFolderError
from flowmatch.inputs.labels import type_label
from flowmatch.plans.folder import PlanFolder
from flowmatch.plans.plan import DISPOSAL, VIRGIN
from flowmatch.report.format import esc_plot
from flowmatch.report.style import FONT

__all__ = ["SYNERGY_FILE", "SYNERGY_NUMBERS", "synergy_rows", "synergy_figure", "headline_money"]

SYNERGY_FILE = "synergies.csv"
#: The money columns of ``synergies.csv`` (currency per year).
SYNERGY_NUMBERS = ("quantity", "avoided_disposal", "avoided_virgin", "transport", "fixed", "capex_annual",
                   "carbon_value", "net_cash", "net_total")
_REUSE = ("direct", "milk_round", "cascade", "regenerated")


def _read_file(pf: PlanFolder) -> pd.DataFrame | None:
    """``synergies.csv`` as the folder holds it (the reader checked it against the manifest), or None."""
    df = getattr(pf, "synergies", None)  # a PlanFolder that reads the file itself
    if isinstance(df, pd.DataFrame):
        return df.copy()
    f = pf.path / SYNERGY_FILE
    if not f.is_file():
        return None
    try:
        df = pd.read_csv(f, dtype={"synergy_id": str, "have_id": str, "want_id": str, "mode": str, "unit": str},
                         keep_default_na=False, na_values=[""])
    except Exception as exc:  # noqa: BLE001 - any reader failure is a damaged file
        raise PlanFolderError(f"{f}: cannot be read ({exc}). Write the plan again with "
                              f"`flowmatch optimise INVENTORY -o {pf.path}`.") from None
    need = ["have_id", "want_id", "net_cash", "net_total"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise PlanFolderError(f"{f}: missing column(s) {', '.join(missing)}. Write the plan again with "
                              f"`flowmatch optimise INVENTORY -o {pf.path}`.")
    for c in [*SYNERGY_NUMBERS, "payback_years"]:
        if c in df.columns:
            num = pd.to_numeric(df[c], errors="coerce")
            bad = num.isna() & df[c].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
                raise PlanFolderError(f"{f}, row {row}, column {c}: {df[c].iloc[row - 2]!r} is not a number. "
                                      f"Write the plan again with `flowmatch optimise INVENTORY -o {pf.path}`.")
            df[c] = num
    return df


def _estimate(pf: PlanFolder) -> pd.DataFrame:
    """Rows like ``synergies.csv`` from the flows of an older folder: cash only, no carbon value."""
    f = pf.flows[pf.flows["mode"].isin(_REUSE) & (pf.flows["have_id"] != VIRGIN)
                 & (pf.flows["want_id"] != DISPOSAL) & (pf.flows["quantity"] > 0)]
    res = pf.resources.drop_duplicates("resource_id").set_index("resource_id")
    price = pd.to_numeric(res["cost"], errors="coerce").fillna(0.0) if "cost" in res else pd.Series(0.0, res.index)
    q = f["quantity"].to_numpy(float)
    avoided_d = q * price.reindex(f["have_id"]).fillna(0.0).to_numpy()
    avoided_v = q * price.reindex(f["want_id"]).fillna(0.0).to_numpy()
    cost = f["cost"].to_numpy(float)
    net = avoided_d + avoided_v - cost
    return pd.DataFrame({
        "synergy_id": [f"F{i + 1}" for i in range(len(f))], "have_id": f["have_id"].to_numpy(),
        "want_id": f["want_id"].to_numpy(), "mode": f["mode"].to_numpy(), "quantity": q,
        "unit": f["unit"].to_numpy(), "avoided_disposal": avoided_d, "avoided_virgin": avoided_v,
        "transport": cost, "fixed": np.nan, "capex_annual": np.nan, "carbon_value": np.nan,
        "net_cash": net, "net_total": net})


def _resource_label(res: pd.DataFrame, ids: pd.Series, lang: str) -> np.ndarray:
    """The user's name of each resource, else its type's label, else its type code (else its id).

    A type's label is the inventory's (``resources.csv``'s ``type_label``: the user's own ``types``
    table merged with the built-in taxonomy) in English; in another language the built-in label in
    that language comes first.
    """
    idx = pd.Index(ids.astype(str))
    name = (res["name"] if "name" in res else pd.Series("", index=res.index)).astype(str).reindex(idx)
    types = res["type"].astype(str).reindex(idx).fillna("")
    own = (res["type_label"].astype(str).groupby(res["type"].astype(str)).first()
           if "type_label" in res else pd.Series(dtype=str))
    by_type = {}
    for t in types.unique():
        if not t:
            continue
        mine = own.get(t, "")
        mine = "" if mine in ("nan", "None") else mine
        by_type[t] = ((type_label(t, lang) or mine) if lang != "en" else (mine or type_label(t, lang))) or t
    out = types.map(by_type).fillna("").to_numpy(dtype=object)
    named = name.notna().to_numpy() & ~name.isin(["", "nan"]).to_numpy()
    out = np.where(named, name.to_numpy(dtype=object), out)
    return np.where(out == "", idx.to_numpy(dtype=object), out)


def synergy_rows(pf: PlanFolder, lang: str = "en") -> tuple[pd.DataFrame, bool]:
    """The synergies, best first (largest ``net_total``), with names; and whether they came from the file.

    Adds ``label`` (have name -> want name), ``from_site``, ``to_site``,
    ``what`` and ``for_what`` (the resources' names) to the file's columns.
    """
    df = _read_file(pf)
    from_file = df is not None
    if df is None:
        df = _estimate(pf)
    res = pf.resources.drop_duplicates("resource_id").set_index("resource_id")
    sites = pf.sites.drop_duplicates("site_id").set_index("site_id")
    sname = sites["name"].where(sites["name"] != "", sites.index.to_series())

    def site_of(ids: pd.Series) -> np.ndarray:
        s = res["site_id"].reindex(ids).to_numpy()
        n = sname.reindex(s).to_numpy()
        return np.where(pd.isna(n), s, n)

    df = df.assign(from_site=site_of(df["have_id"]), to_site=site_of(df["want_id"]),
                   what=_resource_label(res, df["have_id"], lang),
                   for_what=_resource_label(res, df["want_id"], lang))
    df = df.assign(label=[f"{a}: {w} -> {b}" for a, w, b in zip(df["from_site"], df["what"], df["to_site"],
                                                                strict=True)])
    df = df.sort_values("net_total", ascending=False, kind="stable").reset_index(drop=True)
    return df, from_file


def synergy_figure(rows: pd.DataFrame, currency: str) -> go.Figure:
    """Horizontal bars, best synergy on top: cash and carbon value per year of each, stacked."""
    r = rows.iloc[::-1]  # plotly draws the first bar at the bottom
    labels = [esc_plot(x if len(x) <= 70 else x[:68] + "...") for x in r["label"]]
    ids = [esc_plot(x) for x in r.get("synergy_id", pd.Series(range(len(r)))).astype(str)]
    y = [f"{i}. {lab}" for i, lab in zip(range(len(r), 0, -1), labels, strict=True)]
    unit = f"{currency}/yr".strip("/") if currency else "per yr"
    fig = go.Figure()
    fig.add_trace(go.Bar(y=y, x=r["net_cash"].to_numpy(float), orientation="h", name=f"cash ({unit})",
                         marker_color="#2ca02c", customdata=ids,
                         hovertemplate="%{y}<br>cash: %{x:,.0f} " + esc_plot(unit) + "<extra>%{customdata}</extra>"))
    carbon = r["carbon_value"].to_numpy(float)
    if np.isfinite(carbon).any():
        fig.add_trace(go.Bar(y=y, x=np.nan_to_num(carbon), orientation="h", name=f"carbon value ({unit})",
                             marker_color="#17becf", customdata=ids,
                             hovertemplate="%{y}<br>carbon value: %{x:,.0f} " + esc_plot(unit)
                             + "<extra>%{customdata}</extra>"))
    fig.update_layout(barmode="relative", height=max(260, 26 * len(r) + 110), font=FONT,
                      margin=dict(l=10, r=20, t=80, b=40), plot_bgcolor="#f4f6f8",
                      title=dict(text="What each synergy is worth per year", x=0.01, y=0.98, yanchor="top"),
                      xaxis=dict(title=unit, zeroline=True, zerolinecolor="#888"),
                      # above the bars, never over the best one
                      yaxis=dict(automargin=True), legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1,
                                                               xanchor="right"))
    return fig


def headline_money(summary: dict) -> list[tuple[str, str, float, float, float]] | None:
    """The headline's two money lines from ``summary.json``: cash saved and carbon value, or None.

    Each is ``(key, label, saved, plan, baseline)``, saved = baseline minus
    plan; None when the summary has no ``cash`` / ``carbon_cost`` split (an
    older folder).
    """
    obj, base = summary.get("objective") or {}, summary.get("baseline") or {}
    if not all(k in d for d in (obj, base) for k in ("cash", "carbon_cost")):
        return None
    out = []
    for key, label, field in (("cash_saved", "Cash saved", "cash"),
                              ("carbon_value", "Carbon value", "carbon_cost")):
        b, p = float(base[field]), float(obj[field])
        out.append((key, label, b - p, p, b))
    return out
