"""The run engine: refusals before work, resume checks, executors, data-only checkpoints, publish records."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from hil.app.cli import main
from hil.bench import load_bench
from hil.errors import HilError
from hil.procedure import run_procedure
from hil.protocols import get_procedure
from hil.runs import EngineError, execute
from hil.store import Store


def _run(args, capsys) -> tuple[int, str]:
    rc = main(args)
    return rc, capsys.readouterr().err


def test_resume_refuses_other_params_or_bench_naming_the_difference(oscillator_bench, write_bench, tmp_path,
                                                                     capsys):
    out = str(tmp_path / "r.h5")
    base = ["run", "bias_sweep", "--out", out, "--quiet", "--param", "points=51"]
    assert main(base + ["--bench", str(oscillator_bench), "--param", "currents=1mA,2mA"]) == 0
    with Store(out, "r") as store:
        run_id = store.run_ids()[0]
        assert store.run(run_id).attrs["bench_sha256"]  # provenance: a hash of the bench text
    capsys.readouterr()
    rc, err = _run(base + ["--bench", str(oscillator_bench), "--param", "currents=1mA,3mA", "--resume", run_id], capsys)
    assert rc == 1 and "param currents: stored [0.001, 0.002], now [0.001, 0.003]" in err
    other = write_bench(oscillator_bench.read_text().replace("max_bias_current = 0.005", "max_bias_current = 0.004"),
                        "other.toml")
    rc, err = _run(base + ["--bench", str(other), "--param", "currents=1mA,2mA", "--resume", run_id], capsys)
    assert rc == 1 and "bench file text differs" in err
    assert "-max_bias_current = 0.005; +max_bias_current = 0.004" in err
    with Store(out, "r") as store:
        assert store.run(run_id).status == "complete" and store.run(run_id).completed() == [0, 1]


def test_empty_or_unwritable_or_oversized_work_is_refused_before_a_run_exists(oscillator_bench, tmp_path, capsys):
    proc = get_procedure("bias_sweep")
    with Store(tmp_path / "e.h5") as store, load_bench(oscillator_bench).open() as bench:
        with pytest.raises(EngineError, match=r"nothing to do: the plan has 0 points \(currents=\[\]\)"):
            run_procedure(proc, bench, store, {"currents": []}, progress=False)
        with pytest.raises(EngineError, match="nothing to do"):
            execute(store, "x", {}, 0, lambda idx: [], progress=False)
        assert store.run_ids() == [] and bench.bias_source.instrument.received == []
    cases = [
        (["run", "bias_sweep", "--bench", str(oscillator_bench), "--out", "/dev/null"], "--out /dev/null: not a file"),
        (["sim", "diagram", "--alpha", "0.3", "--t-w", "8ps", "--batch", "-1", "--out", str(tmp_path / "d.h5")],
         "batch must be a whole number >= 1, got -1"),
        (["sim", "diagram", "--alpha", "0.3", "--t-w", "8ps", "--size", "30000", "--out", str(tmp_path / "d.h5")],
         "of memory (1 points of L = 30000"),
        (["sim", "diagram", "--alpha", "0:0.6:10000", "--t-w", "1ps:40ps:10000", "--out", str(tmp_path / "d.h5")],
         "Pass --yes to run it anyway"),
        (["stream", "publish", "--bench", str(oscillator_bench), "--processes", "0", "--out", str(tmp_path / "p.h5")],
         "the plan has 0 points (--processes 0)"),
    ]
    for args, words in cases:
        rc, err = _run(args, capsys)
        assert rc == 1 and words in err, (args, err)
    assert not (tmp_path / "d.h5").exists() and not (tmp_path / "p.h5").exists()


def test_out_of_limit_point_refused_by_the_cli_before_the_bench_is_opened(oscillator_bench, tmp_path, capsys):
    out = tmp_path / "l.h5"
    rc, err = _run(["run", "bias_sweep", "--bench", str(oscillator_bench), "--param", "currents=1mA,10mA,2mA",
                    "--out", str(out), "--quiet"], capsys)
    assert rc == 1 and "point 1 of 3 (current=0.01) is outside the bench limits" in err
    assert "Nothing was sent" in err and not out.exists()


def test_dask_scheduler_option_runs_the_sweep_on_an_existing_cluster(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask.h5"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                                  protocol="tcp://") as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        rc, err = _run(["sim", "diagram", "--alpha", "0.3", "--t-w", "2ps,4ps", "--size", "20", "--dt", "5fs",
                        "--batch", "1", "--scheduler", cluster.scheduler_address, "--out", str(out)], capsys)
        assert rc == 0, err
        assert cluster.scheduler.task_prefixes  # the points ran on the cluster
    with Store(out, "r") as store:
        run = store.run(store.run_ids()[0])
        assert run.status == "complete" and run.completed() == [0, 1]
    rc, err = _run(["sim", "diagram", "--alpha", "0.3", "--t-w", "2ps", "--scheduler", "tcp://127.0.0.1:1",
                    "--out", str(tmp_path / "no.h5")], capsys)
    assert rc == 1 and "no dask scheduler answers there" in err


@pytest.fixture
def python_ctrl_c():
    """Python's own SIGINT handler for one test: a Python started with SIGINT ignored (a job a script started with
    `&`) keeps it ignored, and then no Ctrl-C can arrive to be held."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_second_signal_during_close_is_held_and_a_hung_instrument_does_not_spare_the_others(oscillator_bench,
                                                                                          python_ctrl_c):
    spec = load_bench(oscillator_bench)
    bench = spec.open()
    bench.shutdown_timeout = 0.5
    analyser, bias = bench.spectrum_analyser.instrument, bench.bias_source.instrument
    bench.bias_source.output_on()
    release = threading.Event()

    def hung():
        os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C while this instrument shuts down
        release.wait(30)

    analyser.shutdown = hung
    bench._raw = {"spectrum_analyser": bench._raw["spectrum_analyser"], "bias_source": bench._raw["bias_source"]}
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):  # delivered after the shutdown, not during it
        bench.close()
    release.set()
    assert time.monotonic() - start < 5
    assert bias.output is False and bias.closed and bias.sample.current[0] == 0.0
    assert bench.shutdown_report == ("spectrum_analyser: COULD NOT CONFIRM off (shutdown did not finish within 0.5 s)",
                                     "bias_source: output OFF (read back)")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickled_payload_in_a_checkpoint_is_refused_and_never_runs(tmp_path):
    torch = pytest.importorskip("torch")
    from hil.models.ctrnn import CTRNN
    from hil.models.train import load_checkpoint, save_checkpoint

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"kind": "CTRNN", "config": {}, "state": {}, "payload": _Payload(str(marker))}, evil)
    with pytest.raises(HilError, match="not a data-only spin-hil checkpoint, refused without running it"):
        load_checkpoint(evil)
    assert not marker.exists()
    good = tmp_path / "good.pt"
    net = CTRNN(n_in=1, hidden=[3], n_out=2)
    save_checkpoint(good, net, torch.optim.Adam(net.parameters()), 2, {"loss": [np.float64(0.5)]})
    back = load_checkpoint(good)
    assert back["epoch"] == 2 and back["history"] == {"loss": [0.5]} and back["format"] == "spin-hil-checkpoint/1"


def test_stream_publish_leaves_a_run_record_of_what_was_fired(tmp_path, capsys):
    zmq = pytest.importorskip("zmq")
    from hil.stream import SHARDS, topic_of

    bench = tmp_path / "b.toml"
    bench.write_text(open("benches/demo.toml").read())
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.connect(f"tcp://127.0.0.1:{port}")  # zmq reconnects until the publisher binds
    for s in range(SHARDS):
        sub.setsockopt(zmq.SUBSCRIBE, topic_of(s))  # every shard, as labellers do
    out = tmp_path / "pub.h5"
    try:
        rc, err = _run(["stream", "publish", "--bench", str(bench), "--processes", "2", "--t-w", "8ps,28ps",
                        "--endpoint", f"tcp://127.0.0.1:{port}", "--wait", "10", "--out", str(out)], capsys)
    finally:
        sub.close(0)
    assert rc == 0, err
    assert "pulse_generator: output OFF (read back)" in err
    with Store(out, "r") as store:
        run = store.run(store.run_ids()[0])
        assert run.status == "complete" and run.attrs["protocol"] == "stream_publish"
        recs = list(run.records())
    assert [r["width"] for r in recs] == [8e-12, 28e-12] and all(r["amplitude"] == 5.0 for r in recs)
    assert all(r["frames_published"] == len(r["frame_times"]) > 0 for r in recs)
