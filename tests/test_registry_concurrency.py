"""Two processes writing one registry at once lose nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from registry_helpers import cli, db_url, pg_server  # noqa: F401
from sqlalchemy import select

from flowmatch.registry import open_registry
from flowmatch.registry.models import Event, Park, Snapshot, Synergy
from flowmatch.registry.states import PATH

N_IMPORTS = 5  # each process: 5 imports and 5 steps of its synergies (identified -> completed)


def _inventory(mini_dir: Path, dst: Path, quantity: int) -> str:
    shutil.copytree(mini_dir, dst)
    res = dst / "resources.csv"
    res.write_text(res.read_text().replace("H1,PP1,have,material,ewc:100105,120000,",
                                           f"H1,PP1,have,material,ewc:100105,{quantity},"))
    return str(dst)


def test_two_processes_importing_and_advancing_lose_nothing(db_url: str, mini_dir: Path,  # noqa: F811
                                                             tmp_path: Path) -> None:
    assert cli("init", db=db_url)[0] == 0
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=db_url)[0] == 0
    reg = open_registry(db_url)

    def seed(session):
        park = session.scalar(select(Park))
        for i in range(6):
            session.add(Synergy(park_id=park.id, plan_source="seed", plan_synergy_id=f"S{i}", have_ref="H1",
                                want_ref="W1", status="identified", status_date=dt.date.today()))

    reg.write(seed)
    ids = reg.read(lambda s: list(s.scalars(select(Synergy.id).order_by(Synergy.id))))
    go = tmp_path / "go"
    invs = {w: [_inventory(mini_dir, tmp_path / f"{w}{i}", 100000 + 1000 * w + i) for i in range(N_IMPORTS)]
            for w in (1, 2)}
    mine = {1: ids[:3], 2: ids[3:]}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                                        os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen(
        [sys.executable, "-c", "import sys, json; from registry_helpers import concurrent_worker; "
         "concurrent_worker(*json.loads(sys.argv[1]))",
         json.dumps([db_url, invs[w], mine[w], str(go)])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in (1, 2)]
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err

    def load(session):
        snaps = session.execute(select(Snapshot.version, Snapshot.source).order_by(Snapshot.version)).all()
        syn = session.execute(select(Synergy.id, Synergy.status)).all()
        events = session.execute(select(Event.synergy_id, Event.to_status)).all()
        return snaps, syn, events

    snaps, syn, events = reg.read(load)
    assert [v for v, _ in snaps] == list(range(1, 2 * N_IMPORTS + 2))  # every import a version, none lost
    assert {s for _, s in snaps[1:]} == {str(Path(p).resolve()) for w in (1, 2) for p in invs[w]}
    assert all(status == "completed" for _, status in syn)
    for sid in ids:  # every step of every synergy recorded once, in order
        assert [to for s, to in events if s == sid] == list(PATH[1:])
