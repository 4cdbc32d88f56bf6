"""Tighter linking rows for fixed-charge links that several flows share.

A water pipe between two sites carries every source-to-sink pair between
them, so its row is aggregated: ``sum of the pairs' flows <= cap * pipe``,
with ``cap`` the smaller of what the pipe's sources give and its sinks take.
In the LP relaxation the pipe may then be opened by ``flow / cap``, a sliver
when one small pair uses a pipe whose other pairs are big. The disaggregated
rows ``flow_p <= min(source_p, sink_p) * pipe``, one per pair, are valid (a
pair never carries more than its source gives or its sink takes, and nothing
without the pipe) and cut that sliver off: the classic strengthening of
fixed-charge network design (the "strong" linking constraints of the
facility-location and network-design literature, e.g. Magnanti and Wong,
Transportation Science 18(1), 1984). They are added only where they cut deep,
where a pair's own bound is at most half its link's capacity.

Between the two sit the rows per member and link: ``sum of the flows of source s
through pipe l <= what s gives * pipe`` (and per sink, what it takes): fewer rows
than one per pair (a source reaches several sinks through one pipe) and, together,
at least as tight (a pair's row is implied by its source's or its sink's, whichever
is smaller), and tighter where a source's water is split over several sinks or a
sink's over a direct and a regenerated pair. The water cascade uses these.

A heat link's export arcs (one per temperature slot) are the heat cascade's pairs:
each has its own bound from the streams' duties (:mod:`flowmatch.milp.heat.part`).
"""

from __future__ import annotations

import numpy as np

from flowmatch.milp.builder import ModelBuilder

__all__ = ["add_pair_link_rows", "add_group_link_rows", "CUT_MARGIN", "GROUP_MARGIN"]

#: A pair's row is added when its own bound is at most this share of its link's capacity
#: (where it cuts deep: a row per pair on every pipe made a 200-stream park's LP ten times
#: bigger for 0.4% of bound on a 50-stream one).
CUT_MARGIN = 0.5
#: A source's (sink's) row on a link is added when what it gives (takes) is at most this share
#: of the link's capacity (water 200: LP bound 3.4924e7 -> 3.5510e7, rows 16,928 -> 7,438 in
#: place of the per-pair rows, which these imply; 0.5 gave 3.5339e7, 1.0 3.5510e7 with more rows).
GROUP_MARGIN = 0.9


def add_pair_link_rows(mb: ModelBuilder, flow_cols: np.ndarray, pair_link: np.ndarray,
                       pair_cap: np.ndarray, link_cols: np.ndarray, link_cap: np.ndarray,
                       names: list[str], prefix: str, margin: float = CUT_MARGIN) -> int:
    """Add ``flow_p - pair_cap_p * link <= 0`` for the pairs on a link (``pair_link >= 0``)
    whose ``pair_cap`` is at most ``margin`` of their link's ``link_cap``; returns the rows added.

    ``names[p]`` labels pair ``p``; rows are named ``prefix[label]``.
    """
    on = np.flatnonzero(pair_link >= 0)
    cap = np.asarray(pair_cap, float)[on]
    cut = on[(cap <= margin * np.asarray(link_cap, float)[pair_link[on]]) & np.isfinite(cap)]
    if not len(cut):
        return 0
    k = np.arange(len(cut))
    mb.add_rows(np.concatenate([k, k]), np.concatenate([flow_cols[cut], link_cols[pair_link[cut]]]),
                np.concatenate([np.ones(len(cut)), -np.asarray(pair_cap, float)[cut]]), -np.inf, 0.0,
                name=[f"{prefix}[{names[p]}]" for p in cut])
    return len(cut)


def add_group_link_rows(mb: ModelBuilder, flow_cols: np.ndarray, pair_link: np.ndarray,
                        member: np.ndarray, member_cap: np.ndarray, link_cols: np.ndarray,
                        link_cap: np.ndarray, names: list[str], link_names: list[str], prefix: str,
                        margin: float = GROUP_MARGIN) -> int:
    """Add ``sum of member m's flows on link l - member_cap_m * link_l <= 0`` per (member,
    link) where the member has pairs on the link and ``member_cap`` is at most ``margin`` of
    the link's ``link_cap``; returns the rows added.

    ``member[p]`` is pair ``p``'s source (or sink), ``member_cap`` what each member gives
    (takes) at most. Rows are named ``prefix[names[m],link_names[l]]``.
    """
    on = np.flatnonzero(pair_link >= 0)
    if not len(on):
        return 0
    n_link = int(np.max(pair_link)) + 1
    groups, row = np.unique(np.asarray(member, np.int64)[on] * n_link + pair_link[on], return_inverse=True)
    g_member, g_link = groups // n_link, groups % n_link
    g_cap = np.asarray(member_cap, float)[g_member]
    keep = (g_cap <= margin * np.asarray(link_cap, float)[g_link]) & np.isfinite(g_cap)
    if not keep.any():
        return 0
    new = -np.ones(len(groups), np.int64)
    new[keep] = np.arange(int(keep.sum()))
    sel = keep[row]
    kg = np.flatnonzero(keep)
    mb.add_rows(np.concatenate([new[row[sel]], np.arange(len(kg))]),
                np.concatenate([flow_cols[on[sel]], link_cols[g_link[kg]]]),
                np.concatenate([np.ones(int(sel.sum())), -g_cap[kg]]), -np.inf, 0.0,
                name=[f"{prefix}[{names[m]},{link_names[lk]}]" for m, lk in zip(g_member[kg], g_link[kg], strict=True)])
    return len(kg)
