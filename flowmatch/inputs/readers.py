"""Read the files of an inventory into tables, one reader per format.

A folder of ``NAME.csv`` / ``NAME.parquet`` tables, an ``.xlsx`` workbook with a
sheet per table, and the parameters of ``params.toml`` and a ``params`` sheet.
Each reader turns cells into a :class:`~flowmatch.inputs.problems._Table`
(columns named from the header, empty rows dropped, row numbers kept) and
reports what it cannot read as a problem instead of raising; the cells are
checked afterwards by :mod:`flowmatch.inputs.columns`.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowmatch.errors import InputProblem
from flowmatch.inputs.cells import _missing, _np, _text
from flowmatch.inputs.files import (
    TomlFileError,
    bare_carriage_returns,
    decimal_comma,
    delimiter_name,
    not_regular,
    sniff_delimiter,
    uncomputed_formulas,
)
from flowmatch.inputs.params import Params, check_param_values, read_params_toml
from flowmatch.inputs.problems import _Problems, _Table
from flowmatch.inputs.schema import TABLES
from flowmatch.inputs.textcells import formula_problems

log = logging.getLogger(__name__)


def _frame(cells: pd.DataFrame, name: str, label: str, kind: str, problems: _Problems,
           path: Path | None = None, header_row: int = 1, header: list[Any] | None = None) -> _Table:
    """Name the columns from ``header`` (or the first row of ``cells``) and drop empty rows."""
    if header is None:
        header = cells.iloc[0].tolist() if len(cells) else []
        cells = cells.iloc[1:]
    names = ["" if _missing(h) else str(h).strip().lower() for h in header]
    keep = []
    seen: set[str] = set()
    for j, nm in enumerate(names):
        col = cells.iloc[:, j]
        if nm == "":
            if len(col) and _np(pc.not_equal(_text(col), "")).any():
                problems.whole(label, f"column {j + 1} has values but no name in the header.",
                               "Give the column a name or delete it.")
            continue
        if nm in seen:
            problems.whole(label, "the column appears more than once.",
                           "Keep one column of that name.", column=nm)
            continue
        seen.add(nm)
        keep.append(j)
    df = cells.iloc[:, keep].copy()
    df.columns = [names[j] for j in keep]
    rows = np.arange(1, len(df) + 1)
    if len(df.columns) and len(df) and kind != "parquet":
        nonempty = np.zeros(len(df), dtype=bool)
        for c in df.columns:
            nonempty |= _np(pc.not_equal(_text(df[c]), ""))
        if not nonempty.all():
            df, rows = df[nonempty], rows[nonempty]
    return _Table(name, df.reset_index(drop=True), label, rows, kind, path, header_row)


def _read_csv(path: Path, name: str, problems: _Problems) -> _Table | None:
    label = str(path)
    why = not_regular(path)
    if why is not None:
        problems.whole(label, f"{why}.", f"Give {name} as a CSV text file.")
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.whole(label, f"cannot be read ({exc.strerror or exc}).",
                       "Check that the file is readable (its permissions).")
        return None
    spec = TABLES[name]
    sep = sniff_delimiter(path, {c.name for c in spec.columns})
    crs = bare_carriage_returns(data)
    if crs:
        for line, start in crs:
            head = data[start:data.find(b"\r", start)].count(sep.encode())
            problems.whole(label, f"a carriage return (CR) stands alone in field {head + 1} of the line: "
                           "it splits the row in two, so the cells after it shift.",
                           "Remove the line break from the cell (in Excel: Find '^013' / Ctrl+J and replace "
                           "with a space), or save the file again as CSV.", line=line)
        return None
    try:
        cells = pd.read_csv(io.BytesIO(data), header=None, dtype=str, keep_default_na=False, na_filter=False,
                            skipinitialspace=True, encoding="utf-8-sig", skip_blank_lines=True, sep=sep)
    except UnicodeDecodeError:
        problems.whole(label, "is not UTF-8 text (perhaps GBK or Latin-1).",
                       "Save it as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8).")
        return None
    except pd.errors.EmptyDataError:
        problems.whole(label, "is empty.", f"Write a header line with the columns of {name}.")
        return None
    except pd.errors.ParserError as exc:
        problems.whole(label, f"is not a well-formed CSV file ({str(exc).strip()}).",
                       f"Make every line have as many {delimiter_name(sep)}-separated fields as the header; "
                       "quote values that contain the delimiter.")
        return None
    except (OSError, ValueError) as exc:
        problems.whole(label, f"cannot be read ({getattr(exc, 'strerror', None) or exc}).",
                       "Check that the file exists, is readable and is a CSV file.")
        return None
    table = _frame(cells, name, label, "csv", problems, path=path)
    if sep == ";":  # a European export: its numbers use a decimal comma
        log.info("%s: read with ';' as delimiter and ',' as decimal mark", label)
        for c in spec.columns:
            if c.kind == "float" and c.name in table.df.columns:
                table.df[c.name] = decimal_comma(table.df[c.name])
    return table


def _read_parquet_parts(path: Path, name: str, problems: _Problems) -> _Table | None:
    """A partitioned table: the folder ``NAME.parquet/`` of ``*.parquet`` part files, read in name order
    (row numbers in messages count through the parts in that order)."""
    label = str(path)
    parts = sorted(p for p in path.iterdir() if p.suffix.lower() == ".parquet" and not p.name.startswith("."))
    if not parts:
        problems.whole(label, "is a folder with no .parquet part files.",
                       f"Put {name}'s part files (part-0.parquet, ...) in it, or give {name} as one file.")
        return None
    tables = []
    for part in parts:
        why = not_regular(part)
        try:
            if why is not None:
                raise OSError(why)
            tables.append(pq.ParquetFile(part).read())
        except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
            problems.whole(str(part), f"is not a readable Parquet part file ({type(exc).__name__}: "
                           f"{str(exc).strip()[:200]}).", "Write the dataset again, or remove the part.")
            return None
        if tables[-1].schema.names != tables[0].schema.names:
            problems.whole(str(part), f"has columns {', '.join(tables[-1].schema.names)}, not those of "
                           f"{parts[0].name} ({', '.join(tables[0].schema.names)}).",
                           "Every part of a table has the same columns; write the dataset again.")
            return None
    try:
        tab = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        problems.whole(label, f"has parts whose column types differ ({str(exc).strip()[:200]}).",
                       "Write every part with the same column types.")
        return None
    df = pd.DataFrame({j: tab.column(j).to_pandas() for j in range(tab.num_columns)},
                      index=pd.RangeIndex(tab.num_rows))
    return _frame(df, name, label, "parquet", problems, path=path, header=tab.column_names)


def _read_parquet(path: Path, name: str, problems: _Problems) -> _Table | None:
    label = str(path)
    if path.is_dir():  # a partitioned dataset: a folder of part files
        return _read_parquet_parts(path, name, problems)
    why = not_regular(path)
    if why is not None:
        problems.whole(label, f"{why}.", f"Give {name} as a Parquet file.")
        return None
    try:
        # column by column: a file may repeat a column name, which pandas.read_parquet refuses
        tab = pq.ParquetFile(path).read()
        df = pd.DataFrame({j: tab.column(j).to_pandas() for j in range(tab.num_columns)},
                          index=pd.RangeIndex(tab.num_rows))
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        problems.whole(label, f"is not a readable Parquet file ({type(exc).__name__}: "
                       f"{str(exc).strip()[:200]}).",
                       "Write it again with a Parquet writer (pandas.DataFrame.to_parquet), "
                       "or give the table as CSV.")
        return None
    return _frame(df, name, label, "parquet", problems, path=path, header=tab.column_names)


_SUFFIXES = (".csv", ".parquet")


def _read_folder(path: Path, problems: _Problems, skip: tuple[str, ...] = ()) -> dict[str, _Table]:
    """The tables of an inventory folder (those named in ``skip`` are left unread)."""
    found: dict[str, list[Path]] = {}
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        problems.whole(str(path), f"cannot be listed ({exc.strerror}).", "Check the folder's permissions.")
        return {}
    for p in entries:
        stem, suffix = p.stem.strip().lower(), p.suffix.lower()
        if suffix in _SUFFIXES and stem in TABLES and stem not in skip:
            found.setdefault(stem, []).append(p)
    tables: dict[str, _Table] = {}
    for name, paths in found.items():
        if len(paths) > 1:
            problems.whole(str(paths[0]), f"{name} is given more than once "
                           f"({', '.join(p.name for p in paths)}).", "Keep only one of them.")
            continue
        p = paths[0]
        t = _read_parquet(p, name, problems) if p.suffix.lower() == ".parquet" else \
            _read_csv(p, name, problems)
        if t is not None:
            tables[name] = t
    return tables


def _read_workbook(path: Path, problems: _Problems) -> tuple[dict[str, _Table], _Table | None]:
    why = not_regular(path)
    if why is not None:
        problems.whole(str(path), f"{why}.", "Give an .xlsx workbook saved from Excel or LibreOffice.")
        return {}, None
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        problems.whole(str(path), f"cannot be read as an .xlsx workbook ({type(exc).__name__}: "
                       f"{str(exc).strip()[:200]}).",
                       "Save it from Excel or LibreOffice as an .xlsx workbook (not .xls or .csv).")
        return {}, None
    tables: dict[str, _Table] = {}
    params_sheet = None
    formulas = uncomputed_formulas(path)
    for sheet, cells in sheets.items():
        key = str(sheet).strip().lower()
        label = f"{path}[{sheet}]"
        if key not in TABLES and key != "params":
            log.info("%s: sheet ignored (not a table of the inventory)", label)
            continue
        if key in tables or (key == "params" and params_sheet is not None):
            problems.whole(label, f"a second sheet named '{key}'.", "Keep one sheet per table.")
            continue
        # the header is the first row with a value; rows above it are skipped
        filled = cells.notna().any(axis=1).to_numpy()
        first = int(np.argmax(filled)) if filled.any() else 0
        cells = formula_problems(cells, first, formulas.get(str(sheet), []), label, problems)
        t = _frame(cells.iloc[first:], key, label, "xlsx", problems, path=path, header_row=first + 1)
        if key == "params":
            params_sheet = t
        else:
            tables[key] = t
    return tables, params_sheet


# --------------------------------------------------------------------------- params


def _toml_line(path: Path, key: str) -> int | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    pat = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    return next((i + 1 for i, ln in enumerate(text) if pat.match(ln)), None)


def _read_params(toml: Path | None, sheet: _Table | None, problems: _Problems) -> Params:
    """Parameters from ``params.toml`` and a ``params`` sheet (the sheet wins), all checked."""
    values: dict[str, Any] = {}
    where: dict[str, tuple[str, int | None, int | None]] = {}  # key -> (label, row, line)
    if toml is not None:
        try:
            vals, repeated = read_params_toml(toml)
        except TomlFileError as exc:
            problems.whole(str(toml), exc.what, exc.fix)
            vals, repeated = {}, []
        for k in repeated:
            problems.whole(str(toml), f"parameter '{k}' is given more than once.",
                           "Give each parameter once.", line=_toml_line(toml, k))
        for k, v in vals.items():
            values[k] = v
            where[k] = (str(toml), None, None)
    if sheet is not None:
        df = sheet.df
        missing = [c for c in ("key", "value") if c not in df.columns]
        for c in missing:
            problems.whole(sheet.label, "required column is missing.",
                           "Give the params sheet two columns, 'key' and 'value', one parameter a row.",
                           column=c)
        if not missing:
            keys = _np(_text(df["key"])).astype(object)
            cells = _np(_text(df["value"])).astype(object)
            seen: dict[str, int] = {}
            for i, (k, v) in enumerate(zip(keys, cells, strict=True)):
                sheet_row = int(sheet.rows[i])
                if not k:
                    problems.items.append(InputProblem(sheet.label, sheet_row, "key", "a value without a key.",
                                                       "Write the parameter's name in 'key'."))
                    continue
                if k in seen:
                    problems.items.append(InputProblem(sheet.label, sheet_row, "key",
                                                       f"parameter '{k}' is given more than once "
                                                       f"(first in row {seen[k]}).",
                                                       "Give each parameter once."))
                    continue
                seen[k] = sheet_row
                values[k] = v
                where[k] = (sheet.label, sheet_row, None)
    clean, bad = check_param_values(values)
    for key, message, fix in bad:
        label, row, _line = where[key]
        column = ("key" if message.startswith("unknown") else "value") if row is not None else None
        line = _toml_line(Path(label), key) if row is None and toml is not None else None
        if row is not None:
            problems.items.append(InputProblem(label, row, column, message, fix))
        else:
            problems.whole(label, message, fix, line=line)
    return Params(**clean)
