"""A small valid inventory, as text tables, for the inventory tests to break.

Kept apart from the test files so that the error tests and the property-based
test mutate the same inventory. Every cell is a string, as a CSV gives it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SITES = pd.DataFrame({
    "site_id": ["PP1", "PB1", "CM1", "BR1"],
    "name": ["Coal power plant", "Plasterboard maker", "Cement works", "Brewery"],
    "park": ["Demo", "Demo", "Demo", "North"],
    "sector": ["D35.1", "C23.6", "C23.5", "C11.05"],
    "lat": ["36.10", "36.12", "36.05", "36.30"],
    "lon": ["117.00", "117.03", "117.10", "117.20"],
})

RESOURCES = pd.DataFrame({
    "resource_id": ["H1", "H2", "H3", "H4", "W1", "W2", "W3", "W4"],
    "site_id": ["PP1", "PP1", "PP1", "BR1", "PB1", "CM1", "BR1", "CM1"],
    "role": ["have", "have", "have", "have", "want", "want", "want", "want"],
    "category": ["material", "material", "energy", "water", "material", "material", "energy", "water"],
    "type": ["ewc:100105", "ewc:100102", "energy:steam:lp", "water:effluent", "raw:gypsum",
             "raw:cement-additive", "energy:heat", "water:cooling"],
    "quantity": ["120000", "300", "5", "200000", "100000", "250000", "30000", "150000"],
    "unit": ["t", "t/h", "MW", "m3", "t", "t", "MWh", "m3"],
    "frequency": ["continuous", "daily", "", "continuous", "weekly", "", "continuous", ""],
    "months": ["1-12", "", "11-2", "", "4-9", "", "", "1,3,5-7"],
    "max_distance_km": ["", "150", "5", "", "", "", "", "20"],
    "cost": ["40", "0.05", "15", "3", "120", "150", "220", "4"],
    "co2": ["20", "0.02", "5", "0.5", "50", "100", "250", "0.3"],
    "route": ["landfill", "Landfill", "", "discharge", "", "", "", ""],
})

PROPERTIES = pd.DataFrame({
    # the water source and sink state a contaminant: optimise (and so validate) needs one
    "resource_id": ["H1", "H1", "W1", "H3", "W3", "H4", "W4"],
    "property": ["moisture_pct", "purity_pct", "moisture_pct", "temperature_c", "temperature_c",
                 "cod_mg_l", "cod_mg_l"],
    "value": ["10", "92", "", "150", "", "40", ""],
    "min": ["", "", "", "", "110", "", ""],
    "max": ["", "", "15", "", "180", "", "60"],
})

TYPES = pd.DataFrame({
    "type": ["my:slag-sand", "raw:gypsum-board"],
    "parent": ["raw:aggregate", "raw:gypsum"],
    "label": ["Slag sand", "Gypsum for board"],
    "hazardous": ["false", ""],
})

COMPATIBILITY = pd.DataFrame({
    "have_type": ["ewc:100102", "ewc:100202"],
    "want_type": ["raw:cement-additive", "my:slag-sand"],
    "score": ["0.7", "0.9"],
    "source": ["our lab test", ""],
})

DISTANCES = pd.DataFrame({
    "from_site": ["PP1", "PP1"],
    "to_site": ["PB1", "CM1"],
    "km": ["3.5", "12"],
})

TABLES = {
    "sites": SITES,
    "resources": RESOURCES,
    "properties": PROPERTIES,
    "types": TYPES,
    "compatibility": COMPATIBILITY,
    "distances": DISTANCES,
}

PARAMS_TOML = 'currency = "CNY"\n[transport]\ntransport_cost_t_km = 0.5\n'


def tables() -> dict[str, pd.DataFrame]:
    """Fresh copies of the valid tables."""
    return {k: v.copy() for k, v in TABLES.items()}


def write_csv(folder: Path, tabs: dict[str, pd.DataFrame] | None = None, params: str | None = PARAMS_TOML) -> Path:
    """Write ``tabs`` (default: the valid tables) as CSV files and ``params.toml`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in (tabs if tabs is not None else tables()).items():
        df.to_csv(folder / f"{name}.csv", index=False)
    if params is not None:
        (folder / "params.toml").write_text(params, encoding="utf-8")
    return folder


def write_xlsx(path: Path, tabs: dict[str, pd.DataFrame] | None = None,
               params: dict[str, str] | None = None) -> Path:
    """Write ``tabs`` as one workbook, one sheet per table, plus a ``params`` sheet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in (tabs if tabs is not None else tables()).items():
            df.to_excel(xw, sheet_name=name, index=False)
        if params is not None:
            pd.DataFrame({"key": list(params), "value": list(params.values())}).to_excel(
                xw, sheet_name="params", index=False)
    return path
