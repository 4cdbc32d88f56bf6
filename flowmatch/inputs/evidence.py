"""Programme evidence: what a facilitated programme has done with a type pair.

The inventory's optional ``evidence`` table (``evidence.csv``; ``flowmatch
registry learn`` writes it and ``flowmatch registry export`` puts it in the
exported folder) counts, per ``(have_type, want_type)``, the synergies a
programme completed and those it abandoned (with their reasons). Matching reads
it beside the knowledge base: :func:`apply_evidence` moves each pair's type
score towards 1 for every completion and towards 0 for every abandonment.

The rule (``docs/matching.md``): the type score ``s`` that the taxonomy and
knowledge base give is read as the prior chance that an exchange of this pair
works, worth :data:`PRIOR_WEIGHT` observed exchanges (a Beta prior with mean
``s``); ``c`` completions and ``a`` abandonments are observations, and the
score becomes the posterior mean

    s' = (PRIOR_WEIGHT * s + c) / (PRIOR_WEIGHT + c + a)

so one completion halves the distance to 1 (0.6 -> 0.8), one abandonment
halves the score (0.6 -> 0.3), a pair the knowledge base lacks (``s = 0``) but
the programme completed once becomes a candidate at 0.5, and ten completions
outweigh one abandonment (0.6 -> 0.88). Evidence applies to the exact pair of
type codes it names (a registry records the types the inventory used), and
never reopens a water pair the water-use classes forbid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EVIDENCE_COLUMNS", "PRIOR_WEIGHT", "empty_evidence", "normalise_evidence", "read_evidence",
           "apply_evidence", "done_phrase", "candidate_notes", "programme_lines"]

#: The evidence table's columns after :func:`normalise_evidence` (one row per type pair).
EVIDENCE_COLUMNS = ["have_type", "want_type", "completed", "abandoned", "abandon_reasons", "programme"]

#: How many observed exchanges the knowledge base's score is worth (module docstring).
PRIOR_WEIGHT = 1.0


def empty_evidence() -> pd.DataFrame:
    """An evidence table with no rows and the normalised columns."""
    return pd.DataFrame({"have_type": pd.Series([], dtype=str), "want_type": pd.Series([], dtype=str),
                         "completed": pd.Series([], dtype=np.int64), "abandoned": pd.Series([], dtype=np.int64),
                         "abandon_reasons": pd.Series([], dtype=str), "programme": pd.Series([], dtype=str)})


def normalise_evidence(df: pd.DataFrame | None) -> pd.DataFrame:
    """One row per ``(have_type, want_type)``: counts summed over programmes, reasons and programmes joined.

    Missing counts read 0, missing text ``""``. Rows of several programmes for one
    pair add up (the ``programme`` column then lists them, ``;``-separated).
    """
    if df is None or len(df) == 0:
        return empty_evidence()
    d = df.copy()
    for c in ("completed", "abandoned"):
        d[c] = pd.to_numeric(d[c], errors="coerce").fillna(0).astype(np.int64) if c in d else 0
    for c in ("abandon_reasons", "programme"):
        d[c] = d[c].fillna("").astype(str) if c in d else ""
    d["have_type"] = d["have_type"].astype(str)
    d["want_type"] = d["want_type"].astype(str)

    def join(values: pd.Series) -> str:
        seen: list[str] = []
        for v in values:
            for part in str(v).split(";"):
                part = part.strip()
                if part and part not in seen:
                    seen.append(part)
        return "; ".join(seen)

    g = d.groupby(["have_type", "want_type"], sort=True, as_index=False)
    out = g.agg(completed=("completed", "sum"), abandoned=("abandoned", "sum"),
                abandon_reasons=("abandon_reasons", join), programme=("programme", join))
    return out[EVIDENCE_COLUMNS].reset_index(drop=True)


def read_evidence(t: Any, cols: dict[str, Any] | None) -> pd.DataFrame:
    """The inventory's checked ``evidence`` table, normalised (empty without one).

    Column checks (types, counts >= 0, the key) are the reader's, from the schema;
    this only assembles the checked columns and sums rows per pair.
    """
    if t is None or cols is None or "have_type" not in cols or "want_type" not in cols:
        return empty_evidence()
    from flowmatch.inputs.assemble import _assemble

    return normalise_evidence(_assemble(t, cols, {}))


def apply_evidence(score: np.ndarray, have_types: list[str] | tuple[str, ...],
                   want_types: list[str] | tuple[str, ...], evidence: pd.DataFrame | None,
                   forbidden: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The type scores moved by the programme's record, and the completions per cell.

    Parameters
    ----------
    score : ndarray, shape (len(have_types), len(want_types))
        Type scores from the taxonomy and knowledge base.
    have_types, want_types : sequence of str
        The rows' and columns' type codes.
    evidence : pandas.DataFrame or None
        A normalised evidence table (:func:`normalise_evidence`).
    forbidden : ndarray of bool, optional
        Cells no evidence may open (water pairs the water-use classes forbid).

    Returns
    -------
    (ndarray of float64, ndarray of int64)
        The new scores (module docstring) and ``completed`` per cell (0 where no row).
    """
    out = np.array(score, dtype=float, copy=True)
    done = np.zeros(out.shape, dtype=np.int64)
    if evidence is None or len(evidence) == 0 or out.size == 0:
        return out, done
    hi = {t: i for i, t in enumerate(have_types)}
    wj = {t: j for j, t in enumerate(want_types)}
    for a, b, c, n in evidence[["have_type", "want_type", "completed", "abandoned"]].itertuples(index=False):
        i, j = hi.get(str(a)), wj.get(str(b))
        if i is None or j is None:
            continue
        if forbidden is not None and forbidden[i, j]:
            continue
        c, n = max(int(c), 0), max(int(n), 0)
        out[i, j] = (PRIOR_WEIGHT * out[i, j] + c) / (PRIOR_WEIGHT + c + n)
        done[i, j] = c
    return out, done


def done_phrase(n: int) -> str:
    """``"done N times in this programme"`` for a pair the programme completed ``n > 0`` times, else ``""``."""
    n = int(n)
    return f"done {n} time{'s' if n != 1 else ''} in this programme" if n > 0 else ""


def candidate_notes(cands: pd.DataFrame) -> pd.Series:
    """Per candidate, :func:`done_phrase` of its ``programme_done`` (``""`` without the column)."""
    if "programme_done" not in cands:
        return pd.Series([""] * len(cands), index=cands.index, dtype=str)
    return cands["programme_done"].fillna(0).astype(int).map(done_phrase).astype(str)


def programme_lines(cands: pd.DataFrame, top: int = 10) -> list[str]:
    """Lines naming the candidates whose pair the programme has done, most-done first (for the CLI)."""
    if "programme_done" not in cands or not (cands["programme_done"] > 0).any():
        return []
    done = cands[cands["programme_done"] > 0].sort_values(["programme_done", "score"], ascending=False,
                                                           kind="stable")
    lines = [f"{len(done)} candidate(s) of exchanges this programme has done before:"]
    for r in done.head(top).itertuples(index=False):
        lines.append(f"  {r.have_id} -> {r.want_id}  score {r.score:.2f}, {done_phrase(r.programme_done)}")
    return lines
