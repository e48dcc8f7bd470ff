"""The process-diagram sweep: records per point, executors, resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hil.errors import HilError
from hil.store import Store
from hil.labels import PHYSICS
from hil.sim.llg.diagram import DiagramSpec, plot_diagram, sweep

PS = 1e-12
ROOT = Path(__file__).resolve().parent.parent

# a tiny, short diagram: 20×20 lattice, a 1 ps pulse at 3 ps, 12 ps in all
TINY = dict(theta_deg=40.0, size=20, widths=(1 * PS, 2 * PS), frame_times=(0.0, 4 * PS, 8 * PS),
            dt=5e-15, t_p=3 * PS, settle=2 * PS, max_time=12 * PS, batch=2)


# These sweeps stop the processes at 10–15 ps to stay fast, before their labels settle: the twin says so
# (RuntimeWarning "labels … were still changing"), which is right and expected here.
@pytest.mark.filterwarnings("ignore:labels of samples:RuntimeWarning")
def test_sweep_writes_one_record_per_point_and_plots(tmp_path):
    spec = DiagramSpec(alphas=(0.3, 0.5), **TINY)
    out = tmp_path / "d.h5"
    with ThreadPoolExecutor(2) as pool:
        run_id = sweep(spec, out, executor=pool, progress=False)
    with Store(out, "r") as store:
        run = store.run(run_id)
        assert run.status == "complete" and run.completed() == [0, 1, 2, 3]
        rec = run.record(3)
        assert (rec["alpha"], rec["t_w"]) == (0.5, 2 * PS)
        assert rec["frames"].shape == (3, 20, 20) and rec["label"] in PHYSICS
    counts = plot_diagram(out, run_id, tmp_path / "d.png")
    assert sum(counts.values()) == 4 and (tmp_path / "d.png").stat().st_size > 1000


# These sweeps stop the processes at 10–15 ps to stay fast, before their labels settle: the twin says so
# (RuntimeWarning "labels … were still changing"), which is right and expected here.
@pytest.mark.filterwarnings("ignore:labels of samples:RuntimeWarning")
def test_dask_local_cluster_runs_the_same_sweep(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = DiagramSpec(alphas=(0.3,), **TINY)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            run_id = sweep(spec, tmp_path / "dask.h5", executor=client.get_executor(), progress=False)
    ref = sweep(spec, tmp_path / "ref.h5", progress=False)
    with Store(tmp_path / "dask.h5", "r") as a, Store(tmp_path / "ref.h5", "r") as b:
        for i in (0, 1):
            assert a.run(run_id).record(i)["final_Q"] == pytest.approx(b.run(ref).record(i)["final_Q"], abs=1e-9)


# the killed sweep pauses 0.4 s after each point so the kill lands mid-sweep on any machine
KILLED = r"""
import sys, time
import hil.sim.llg.diagram as pd
from hil.sim.llg.diagram import DiagramSpec, sweep
real = pd.simulate_points
pd.simulate_points = lambda sp, idx: (time.sleep(0.4), real(sp, idx))[1]
spec = DiagramSpec(alphas=tuple(0.1 * k for k in range(1, 9)), **eval(sys.argv[2]))
sweep(spec, sys.argv[1], progress=False)
"""


# These sweeps stop the processes at 10–15 ps to stay fast, before their labels settle: the twin says so
# (RuntimeWarning "labels … were still changing"), which is right and expected here.
@pytest.mark.filterwarnings("ignore:labels of samples:RuntimeWarning")
def test_sweep_resumes_after_sigkill_without_recomputing(tmp_path):
    out = tmp_path / "k.h5"
    tiny = dict(TINY, batch=1)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(out), repr(tiny)], cwd=ROOT)
    deadline = time.time() + 120
    done: list[int] = []
    while time.time() < deadline:
        time.sleep(0.1)
        try:
            with Store(out, "r", swmr=True) as s:
                ids = s.run_ids()
                done = s.run(ids[0]).completed() if ids else []
        except Exception:
            continue
        if len(done) >= 3:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store(out, "r") as s:
        run_id = s.run_ids()[0]
        before = s.run(run_id).completed()
        first = s.run(run_id).record(before[0])["final_Q"]
        assert s.run(run_id).status in ("interrupted", "running") and 3 <= len(before) < 16
    spec = DiagramSpec(alphas=tuple(0.1 * k for k in range(1, 9)), **tiny)
    computed: list[list[int]] = []
    import hil.sim.llg.diagram as pd

    real = pd.simulate_points
    pd.simulate_points = lambda sp, idx: (computed.append(idx), real(sp, idx))[1]
    try:
        sweep(spec, out, resume=run_id, progress=False)
    finally:
        pd.simulate_points = real
    redone = {i for batch in computed for i in batch}
    assert redone.isdisjoint(before) and redone | set(before) == set(range(16))
    with Store(out, "r") as s:
        run = s.run(run_id)
        assert run.status == "complete" and run.record(before[0])["final_Q"] == first
    with pytest.raises(HilError, match=r"param alphas: stored \[0.1, 0.2, .*, now \[0.2\]"):
        sweep(DiagramSpec(alphas=(0.2,), **tiny), out, resume=run_id, progress=False)



def test_the_twin_defaults_have_one_home():
    """dt, L, t_p, settle and frames come from hil.sim.llg.defaults everywhere (values as before the move)."""
    import inspect

    from hil.sim.llg import LatticeParams, Pulse, SkyrmionSample, defaults, simulate
    from hil.sim.twins.samples import skyrmion_sample

    assert (defaults.DT, defaults.SIZE, defaults.T_P, defaults.SETTLE) == (2e-15, 100, 40 * PS, 40 * PS)
    assert defaults.FRAMES_15PS == tuple(t * PS for t in range(0, 106, 15)) and len(defaults.FRAMES_5PS) == 19
    spec = DiagramSpec()
    assert (spec.dt, spec.size, spec.t_p, spec.settle, spec.frame_times) == (
        defaults.DT, defaults.SIZE, defaults.T_P, defaults.SETTLE, defaults.FRAMES_15PS)
    assert LatticeParams().L == defaults.SIZE and Pulse(t_w=PS, theta=0.0).t_p == defaults.T_P
    sim_defaults = inspect.signature(simulate).parameters
    assert sim_defaults["dt"].default == defaults.DT and sim_defaults["settle"].default == defaults.SETTLE
    assert inspect.signature(SkyrmionSample).parameters["dt"].default == defaults.DT
    twin = inspect.signature(skyrmion_sample).parameters
    assert twin["size"].default == defaults.SIZE and twin["dt_fs"].default * 1e-15 == defaults.DT
