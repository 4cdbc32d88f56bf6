"""Input files before their cells: what kind of file a path is, TOML text, CSV delimiters.

Every input file is looked at (``os.stat``) before it is opened, so that a FIFO,
a device such as ``/dev/zero`` or a folder where a file should be is refused
instead of hanging or being ignored, and a path that cannot be looked at
(permissions) is reported instead of raising. TOML files (``params.toml``,
scenarios) are read as UTF-8 with an optional byte-order mark. A CSV file's
delimiter is taken from its header line: ``,`` (the default), ``;`` (European
Excel exports, whose numbers then use a decimal comma) or a tab.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from flowmatch.errors import ParamsError

__all__ = ["path_kind", "not_regular", "read_toml", "TomlFileError", "sniff_delimiter", "decimal_comma"]

#: the delimiters a CSV file may use, the first being the default
DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "a tab"}


def path_kind(path: Path) -> tuple[str, str]:
    """``(kind, detail)``: kind is ``missing``, ``dir``, ``file``, ``other`` or ``denied``.

    ``other`` is anything that is not a regular file or folder (a FIFO, a device,
    a socket); ``detail`` then names it. ``denied`` is a path that cannot be looked
    at; ``detail`` is the system's reason. Symbolic links are followed.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing", ""
    except NotADirectoryError:
        return "missing", "a parent is not a folder"
    except OSError as exc:
        return "denied", exc.strerror or str(exc)
    if stat.S_ISDIR(mode):
        return "dir", "a folder"
    if stat.S_ISREG(mode):
        return "file", ""
    what = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    return "other", what


def not_regular(path: Path) -> str | None:
    """Why ``path`` cannot be read as an input file (``None`` when it is a regular file)."""
    kind, detail = path_kind(path)
    if kind == "file":
        return None
    if kind == "missing":
        return "cannot be read: it does not exist"
    if kind == "denied":
        return f"cannot be read ({detail})"
    return f"cannot be read: it is {detail}, not a regular file"


class TomlFileError(ParamsError):
    """A TOML file that cannot be read: ``what`` (the problem) and ``fix``."""

    def __init__(self, path: Path, what: str, fix: str):
        super().__init__(f"{path}: {what} Fix: {fix}")
        self.path, self.what, self.fix = path, what, fix


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict: UTF-8 text, a leading byte-order mark (BOM) accepted.

    Raises
    ------
    TomlFileError
        The path is not a regular file or cannot be read, the text is not UTF-8,
        or it is not valid TOML.
    """
    why = not_regular(path)
    if why is not None:
        raise TomlFileError(path, why + ".", "Give the path of a TOML text file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TomlFileError(path, f"cannot be read ({exc.strerror or exc}).",
                            "Check that the file is readable.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TomlFileError(path, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}; "
                            "perhaps GBK or Latin-1).",
                            "Save it as UTF-8 (any editor's 'Save with encoding > UTF-8').") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(path, f"is not valid TOML ({exc}).", "Fix the TOML syntax (key = value).") from None


def sniff_delimiter(path: Path, known: set[str]) -> str:
    """The delimiter of a CSV file, from its header line.

    Each of ``,``, ``;`` and tab splits the header; the one giving the most
    ``known`` column names wins, ``,`` on a tie (so a one-column file, or a file
    whose header names nothing known, reads as before).
    """
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            head = fh.readline(1 << 16)
    except OSError:
        return ","
    best, best_n = ",", -1
    for d in DELIMITERS:
        try:
            fields = next(csv.reader(io.StringIO(head), delimiter=d), [])
        except csv.Error:
            continue
        n = sum(1 for f in fields if f.strip().lower() in known)
        if n > best_n:
            best, best_n = d, n
    return best


def delimiter_name(d: str) -> str:
    return _DELIMITER_NAMES.get(d, repr(d))


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?\s*$")
_DOT_THOUSANDS_COMMA = re.compile(r"^\s*[+-]?\d{1,3}(?:\.\d{3})+,\d*\s*$")


def decimal_comma(s: pd.Series) -> pd.Series:
    """Numbers written the continental way (``12,5``, ``1.234,5``) rewritten with a decimal point.

    Cells of any other form are left as they are (so a plain ``12.5`` stays
    12.5, and a mistake is reported with the user's own text).
    """
    def fix(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        if _DOT_THOUSANDS_COMMA.match(v):
            return v.replace(".", "").replace(",", ".")
        if _DECIMAL_COMMA.match(v):
            return v.replace(",", ".")
        return v
    return s.map(fix)


_BARE_CR = re.compile(rb"\r(?!\n)")


def bare_carriage_returns(data: bytes, limit: int = 5) -> list[tuple[int, int]]:
    """``(line, field)`` (1-based) of carriage returns standing alone inside the lines of a CSV file.

    A file whose lines end in LF or CRLF and that holds a CR on its own (a line
    break pasted into a cell) is split there by every CSV reader, so the row
    after it reads shifted. Files whose every line ends in a lone CR (old Mac
    text) have no LF and are not reported. ``field`` counts delimiters before
    the CR on its line (ignoring quotes).
    """
    if b"\n" not in data:
        return []
    out = []
    for m in _BARE_CR.finditer(data):
        start = data.rfind(b"\n", 0, m.start()) + 1
        out.append((data.count(b"\n", 0, m.start()) + 1, start))
        if len(out) >= limit:
            break
    return out


def uncomputed_formulas(path: Path) -> dict[str, list[tuple[int, int, str]]]:
    """Formula cells of a workbook that hold no computed value: sheet -> ``(row, column, formula)``, 0-based.

    A workbook written by a program (not saved from Excel or LibreOffice) may
    hold formulas whose value was never computed; read for its values such a
    cell is empty. Only sheets whose XML holds a formula at all are opened a
    second time, so a workbook of plain values costs one scan of its XML.
    """
    import zipfile

    import openpyxl  # type: ignore[import-untyped]

    try:
        with zipfile.ZipFile(path) as z:
            if not any(b"<f" in z.read(n) for n in z.namelist()
                       if n.startswith("xl/worksheets/") and n.endswith(".xml")):
                return {}
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - an unreadable workbook is reported by its reader
        return {}
    out: dict[str, list[tuple[int, int, str]]] = {}
    try:
        for ws in formulas.worksheets:
            vs = values[ws.title]
            for i, (frow, vrow) in enumerate(zip(ws.iter_rows(values_only=True),
                                                  vs.iter_rows(values_only=True), strict=False)):
                for j, f in enumerate(frow):
                    if isinstance(f, str) and f.startswith("=") and (j >= len(vrow) or vrow[j] is None):
                        out.setdefault(ws.title, []).append((i, j, f))
    finally:
        formulas.close()
        values.close()
    return out
