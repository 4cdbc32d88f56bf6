"""The programme report: a registry's outcomes by year, park, sector and state, as a workbook or a page.

:func:`write_programme` writes the tables of
:func:`flowmatch.registry.report.programme_tables` to ``programme.xlsx`` (one
sheet each, numbers as numbers, an xlsxwriter chart beside each table, and the
synergies) or ``programme.html`` (a self-contained page: plotly.js is embedded
once, as in the plan report, so it opens offline). Written atomically
(:mod:`flowmatch.files`). A table's ``Total`` row is left out of its chart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from flowmatch.errors import FlowmatchError
from flowmatch.files import atomic_write
from flowmatch.report.format import esc

if TYPE_CHECKING:
    from flowmatch.registry.report import ProgrammeTables

__all__ = ["write_programme", "TITLES"]

#: Each table's title and the measures its chart shows.
TITLES: dict[str, tuple[str, list[str]]] = {
    "by_year": ("Outcomes by year", ["landfill_diverted_t", "co2_saved_t"]),
    "by_park": ("Synergies and outcomes by park", ["synergies", "completed", "abandoned"]),
    "by_sector": ("Outcomes by sector of the giving company", ["landfill_diverted_t", "co2_saved_t"]),
    "by_state": ("Synergies by lifecycle state", ["synergies"]),
}


class ReportFormatError(FlowmatchError):
    """The output's suffix is neither .xlsx nor .html."""


def _title(t: ProgrammeTables) -> str:
    return f"Programme report: {t.park}" if t.park else "Programme report: all parks"


def _xlsx(t: ProgrammeTables, path: Path) -> None:
    import xlsxwriter

    from flowmatch.report.workbook import _Sheets

    def write(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False})
        try:
            sheets = _Sheets(wb, 1_048_576)
            for name, df in t.tables().items():
                sheets.frame(name, df)
                ws = wb.get_worksheet_by_name(name)
                n = len(df) - 1  # the rows above Total
                if n < 1 or ws is None:
                    continue
                title, measures = TITLES[name]
                chart = wb.add_chart({"type": "column"})
                for m in measures:
                    j = list(df.columns).index(m)
                    chart.add_series({"name": [name, 0, j], "categories": [name, 1, 0, n, 0],
                                      "values": [name, 1, j, n, j]})
                chart.set_title({"name": title})
                chart.set_size({"width": 640, "height": 320})
                ws.insert_chart(1, len(df.columns) + 1, chart)
            sheets.frame("synergies", t.synergies.astype({"status_date": str}))
            if t.notes:
                sheets.frame("notes", pd.DataFrame({"note": t.notes}))
        finally:
            wb.close()

    atomic_write(path, write, suffix=".xlsx")


def _table_html(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for r in df.itertuples(index=False):
        cells = []
        for v in r:
            if isinstance(v, int | float) and not isinstance(v, bool):
                cells.append(f'<td class="num">{v:,.6g}</td>')
            else:
                cells.append(f"<td>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _html(t: ProgrammeTables, path: Path) -> None:
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    figs: list[tuple[str, str]] = []
    sections = []
    for name, df in t.tables().items():
        title, measures = TITLES[name]
        body = _table_html(df)
        rows = df.iloc[:-1]
        if len(rows):
            fig = go.Figure([go.Bar(name=m, x=rows.iloc[:, 0].astype(str), y=rows[m]) for m in measures])
            fig.update_layout(title=title, barmode="group", height=360, margin={"t": 48, "b": 40})
            figs.append((f"fig-{name}", pio.to_json(fig, validate=False) or "{}"))
            body = f'<div id="fig-{name}"></div>' + body
        sections.append(f'<section id="{name}"><h2>{esc(title)}</h2>{body}</section>')
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in t.notes)
    figs_js = ",\n".join(f'"{d}": {js}' for d, js in figs)
    draw = "\n".join(f'Plotly.newPlot("{d}", F["{d}"].data, F["{d}"].layout, {{"displaylogo": false}});'
                     for d, _ in figs)
    data = json.dumps(_data(t)).replace("</", "<\\/")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="flowmatch">
<title>{esc(_title(t))}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px}}td.num{{text-align:right}}tr:last-child td{{font-weight:bold}}</style>
<script>{get_plotlyjs()}</script></head>
<body><h1>{esc(_title(t))}</h1>{notes}
{chr(10).join(sections)}
<script>var F = {{{figs_js}}};
{draw}</script>
<script type="application/json" id="programme-data">{data}</script>
</body></html>
"""
    atomic_write(path, lambda p: p.write_text(page, encoding="utf-8"), suffix=".html")


def _data(t: ProgrammeTables) -> dict[str, Any]:
    """The tables as JSON records (embedded in the page for a reader or a test to check)."""
    return {name: json.loads(df.to_json(orient="records")) for name, df in t.tables().items()}


def write_programme(t: ProgrammeTables, out: str | Path) -> Path:
    """Write the programme report to ``out`` (``.xlsx`` or ``.html``, chosen by suffix).

    Raises
    ------
    ReportFormatError
        Another suffix.
    """
    path = Path(out)
    kind = path.suffix.lower()
    if kind == ".xlsx":
        _xlsx(t, path)
    elif kind in (".html", ".htm"):
        _html(t, path)
    else:
        raise ReportFormatError(f"-o {path}: the programme report is written as .xlsx or .html; "
                                "name the file programme.xlsx or programme.html.")
    return path
