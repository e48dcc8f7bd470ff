"""``hil stream publish|replay|label|watch``: label skyrmion processes live over ZMQ."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import threading

from hil.quantities import quantity_arg, values_arg

DEFAULT_IN = "tcp://127.0.0.1:5555"
DEFAULT_OUT = "tcp://127.0.0.1:5556"


def _note(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def _publisher(args: argparse.Namespace):
    from hil.stream import FramePublisher

    pub = FramePublisher(args.endpoint, allow_remote=args.allow_remote, ack_timeout=args.ack_timeout, on_note=_note)
    print(f"publishing stream {pub.stream} on {pub.endpoint}; waiting up to {args.wait:g} s for labellers on "
          "every shard", file=sys.stderr, flush=True)
    pub.wait_for_subscribers(args.wait)
    return pub


def _account(pub, finish: bool, prog: str) -> int:
    """End the stream (``finish``: send its summary and wait for the last acknowledgements) and say in one line
    whether every frame was labelled; 1 if some were not."""
    acct = pub.finish() if finish else pub.accounting()
    if acct.ok:
        print(f"{prog}: {acct.line()}", file=sys.stderr, flush=True)
        return 0
    print(f"hil: error: {prog}: {acct.line()}", file=sys.stderr, flush=True)
    return 1


def _noting(frames, times: list[float]):
    """Pass (t, frame) pairs through, noting each t: what was published, for the run record."""
    for t, frame in frames:
        times.append(t)
        yield t, frame


def cmd_publish(args: argparse.Namespace) -> int:
    """Fire ``--processes`` pulses on the bench and publish each frame; the run engine records what was fired.

    Every pulse is checked against the bench limits before the first is sent;
    the run (``--out``) keeps, per process, its id, pulse (amplitude, width,
    delay) and frame times, and ends complete, failed or interrupted like any run.
    """
    import numpy as np

    from hil.app.cli import report_shutdown
    from hil.bench import load_bench
    from hil.procedure import check_requests
    from hil.protocols.pulse_frames import fire_pulse
    from hil.runs import execute, preflight
    from hil.sim.llg.defaults import FRAME_SETS, T_P
    from hil.stream import publish_process

    times = FRAME_SETS[args.frames]
    widths = list(args.t_w)
    delay = T_P if args.delay is None else args.delay
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    spec = load_bench(args.bench)

    def width_of(k: int) -> float:  # each process's width from its own seed: the same on any rerun
        return float(np.random.default_rng([args.seed, k]).choice(widths)) if args.random else widths[k % len(widths)]

    preflight(args.processes, args.out, empty_hint="--processes 0")
    check_requests((("pulse_generator", "set_gaussian_pulse", (args.amplitude, w, delay)) for w in widths),
                   spec.limits, "a pulse of --t-w / --amplitude / --delay")
    params = {"processes": args.processes, "widths": widths, "random": args.random, "amplitude": args.amplitude,
              "delay": delay, "frame_times": list(times), "seed": args.seed, "endpoint": args.endpoint}
    from hil.store import Store

    with Store(args.out) as store:
        bench = spec.open()
        bench.shutdown_timeout = args.shutdown_timeout
        try:
            with bench:
                pub = _publisher(args)

                def fire(indices: list[int]):
                    for k in indices:
                        width, process = width_of(k), f"{spec.name}-{stamp}-{k}"
                        sent: list[float] = []
                        n = publish_process(pub, process, _noting(fire_pulse(bench, args.amplitude, width, delay,
                                                                             times), sent))
                        print(f"{process}: t_w = {width * 1e12:g} ps, {n} frames published", file=sys.stderr)
                        yield k, {"process": process, "amplitude": args.amplitude, "width": width, "delay": delay,
                                  "frames_published": n, "frame_times": np.asarray(sent, dtype=float)}

                finished = False
                try:
                    run = execute(store, "stream_publish", params, args.processes, fire, bench_text=spec.text,
                                  batch=args.processes, prepare=bench.pulse_generator.output_on, progress=False)
                    finished = True
                finally:
                    rc = _account(pub, finished, "hil stream publish")  # unlabelled frames: say how many
                    pub.close()
        finally:
            report_shutdown(bench)
        print(f"run {run.run_id}: {run.status}, {len(run.completed())} processes recorded → {args.out}",
              file=sys.stderr)
    return rc


def cmd_replay(args: argparse.Namespace) -> int:
    from hil.stream import Pacer, StreamStalled, publish_process
    from hil.models.process_data import read_processes

    data = read_processes(args.run_file, args.run)
    pacer = Pacer(args.rate) if args.rate else None
    pub = _publisher(args)
    finished = False
    try:
        for pid, frames in zip(data.ids, data.frames):
            times = [k / args.rate if args.rate else float(k) for k in range(len(frames))]
            publish_process(pub, pid, zip(times, frames), rate=pacer)
        print(f"replayed {len(data)} processes ({pub.sent} messages, back-pressure {pub.backpressure})",
              file=sys.stderr)
        finished = True
    except StreamStalled:
        pass  # said in the accounting line
    finally:
        rc = _account(pub, finished, "hil stream replay")
        pub.close()
    return rc


def cmd_label(args: argparse.Namespace) -> int:
    from hil.models.classifier_onnx import StepSession
    from hil.stream import SHARDS, Labeller

    if args.cpu is not None:
        _pin(args.cpu)
    session = StepSession(args.model, threads=args.threads)
    labeller = Labeller(session, args.inbound, args.outbound, index=args.index, count=args.count,
                        process_timeout=args.timeout, allow_remote=args.allow_remote, frame_every=args.frames_every)
    print(f"labeller {args.index}/{args.count}: {args.inbound} → {labeller.out_endpoint} "
          f"({len(labeller.shards)} of {SHARDS} shards{f', core {args.cpu}' if args.cpu is not None else ''}); "
          "Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        labeller.run(spin_s=args.spin_ms * 1e-3, spin_backoff_s=args.spin_backoff_ms * 1e-3)
    except KeyboardInterrupt:
        pass
    finally:
        st = labeller.stats
        backoffs = f", busy-polling gave way {st.spin_backoffs} times (machine busy)" if args.spin_ms else ""
        print(f"labeller: {st.frames} frames, {st.processes_done} processes, {st.gaps} gaps, "
              f"{st.duplicates} duplicates and {st.out_of_order} out-of-order frames not stepped, "
              f"{st.malformed} malformed dropped, {st.timed_out} timed out, {st.reports} stream reports{backoffs}",
              file=sys.stderr)
        for line in list(labeller.errors)[-10:]:
            print(f"  {line}", file=sys.stderr)
        labeller.close()
    return 0


def _pin(cpu: int) -> None:
    """Run this process on core ``cpu`` only (Linux): a labeller with a core to itself, away from other work."""
    import os

    from hil.errors import HilError

    if not hasattr(os, "sched_setaffinity"):
        raise HilError("--cpu needs os.sched_setaffinity (Linux)")
    allowed = sorted(os.sched_getaffinity(0))
    if cpu not in allowed:
        raise HilError(f"--cpu {cpu}: this process may run on cores {', '.join(map(str, allowed))} only")
    os.sched_setaffinity(0, {cpu})


def cmd_watch(args: argparse.Namespace) -> int:
    """Print labels as they come and, per stream, once its labellers have reported, what was lost and where.

    Exits after ``--count`` final labels or ``--streams`` streams (else on Ctrl-C); non-zero when a label was
    lost (unless ``--allow-loss``).
    """
    from hil.app.view_stream import label_line  # one line format, shared with `hil view`
    from hil.labels import UNKNOWN
    from hil.stream import LabelLog, LabelTally, StreamAudit, watch

    log = store = None
    if args.store:
        from hil.store import Store

        store = Store(args.store)
        run = store.create_run("stream_labels", {"endpoints": args.endpoints})
        log = LabelLog(run)
    tally = LabelTally()
    audit = StreamAudit(expected=len(set(args.endpoints)), timeout=args.report_timeout)
    stop = threading.Event()
    losses: list = []
    malformed: list[str] = []

    legend: list[str] = []

    def show(h: dict) -> None:
        audit(h)
        if h["kind"] == "report":
            return
        tally(h)
        classes = h.get("classes")
        if isinstance(classes, list) and [str(c) for c in classes] != legend:
            legend[:] = [str(c) for c in classes]
            print(f"columns: process  #frame  label  [p({' '.join(legend)})]; "
                  f"{UNKNOWN!r} = no class reached p ≥ {h.get('threshold', '?')}: the process fits none of the "
                  "trained kinds well (often a mixed final state)", flush=True)
        if h["kind"] == "final":
            print(label_line(h), flush=True)
            if args.count and tally.finals >= args.count:
                stop.set()
        elif not args.finals_only:
            print(label_line(h), flush=True)
        if log is not None:
            log(h)

    def done() -> bool:
        for loss in audit.poll():
            losses.append(loss)
            print("\n".join(loss.lines()), flush=True)
            if args.streams and len(losses) >= args.streams:
                stop.set()
        return stop.is_set()

    def bad(line: str) -> None:
        malformed.append(line)
        if len(malformed) <= 10:
            print(f"watch: {line}", file=sys.stderr, flush=True)

    try:
        watch(args.endpoints, show, until=done, spin_s=args.spin_ms * 1e-3, malformed=bad,
              kinds=(b"label", b"final", b"report"),
              ready=lambda: print(f"watching {', '.join(args.endpoints)}", file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        pass
    finally:
        print(f"watch: {tally.labels} labels, {tally.finals} final labels, {tally.missing} labels missing",
              file=sys.stderr)
        for note in list(audit.notes)[-10:]:
            print(f"watch: {note}", file=sys.stderr)
        lost = sum(loss.total.lost for loss in losses)
        if losses:
            print(f"watch: {len(losses)} streams reported, {lost} frames' labels lost"
                  f"{f', {len(malformed)} malformed messages dropped' if malformed else ''}", file=sys.stderr)
        if store is not None:
            run.finish("complete")
            store.close()
            print(f"{log.written} processes' labels → {args.store} (run {run.run_id})", file=sys.stderr)
    if args.allow_loss:
        return 0
    return 1 if any(loss.lost for loss in losses) or tally.missing else 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    stream = sub.add_parser("stream", help="publish frames and label processes live over ZMQ").add_subparsers(
        dest="stream_command", required=True, metavar="ACTION")

    def endpoint_args(p):
        p.add_argument("--endpoint", default=DEFAULT_IN, help="where to publish frames (default %(default)s)")
        p.add_argument("--wait", type=float, default=30.0, help="seconds to wait for labellers on every shard")
        p.add_argument("--ack-timeout", type=_positive, default=10.0, metavar="SECONDS",
                       help="seconds: a labeller silent this long (no heartbeat, no acknowledgement) counts as gone; "
                            "a full queue this long is an error; and the longest wait, at the end, for the last "
                            "labels (default %(default)g). Exit 1, saying how many frames went unlabelled per "
                            "labeller, when some did")
        p.add_argument("--allow-remote", action="store_true", help="allow binding beyond loopback")

    p = stream.add_parser("publish", help="run processes on the bench's sample and publish each frame as it comes")
    p.add_argument("--bench", required=True, help="bench file with pulse_generator and frame_source roles")
    p.add_argument("--processes", type=int, default=3)
    p.add_argument("--t-w", type=values_arg("s"), default="8ps,28ps,40ps",
                   help="pulse widths with units: a comma list or start:stop:count (default %(default)s)")
    p.add_argument("--random", action="store_true", help="draw widths at random instead of cycling")
    p.add_argument("--amplitude", type=quantity_arg("V"), default="5V", help="pulse peak voltage (default %(default)s)")
    p.add_argument("--delay", type=quantity_arg("s"), default=None,
                   help="trigger to pulse centre t_p, e.g. 40ps (default: the twin's t_p)")
    p.add_argument("--frames", choices=["15ps", "5ps"], default="15ps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/publish.h5",
                   help="store that records what was fired, one record per process (default %(default)s)")
    p.add_argument("--shutdown-timeout", type=quantity_arg("s"), default="10s",
                   help="longest wait for one instrument to switch off before the next (default %(default)s)")
    endpoint_args(p)
    p.set_defaults(func=cmd_publish)

    p = stream.add_parser("replay", help="publish the processes recorded in a run")
    p.add_argument("run_file", metavar="RUN.h5")
    p.add_argument("--run", default=None, help="run id (default: the file's only run)")
    p.add_argument("--rate", type=float, default=0.0, help="frames/s (0: as fast as possible)")
    endpoint_args(p)
    p.set_defaults(func=cmd_replay)

    p = stream.add_parser("label", help="label frames with an ONNX classifier, one state per process")
    p.add_argument("--model", default=None,
                   help="ONNX classifier (`hil export classifier`; default: the shipped L = 100 model)")
    p.add_argument("--in", dest="inbound", default=DEFAULT_IN, help="frame publisher (default %(default)s)")
    p.add_argument("--frames-every", type=int, default=10,
                   help="attach the frame to a process's 1st, 11th, … label so `hil view` can show it "
                        "(0: never; default %(default)s)")
    p.add_argument("--out", dest="outbound", default=DEFAULT_OUT, help="where to publish labels (default %(default)s)")
    p.add_argument("--index", type=int, default=0, help="this labeller's index among --count")
    p.add_argument("--count", type=int, default=1, help="labellers sharing the stream (by process shard)")
    p.add_argument("--timeout", type=float, default=30.0, help="close a silent process after this many seconds")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    p.add_argument("--spin-ms", type=float, default=0.0,
                   help="busy-poll this long after each frame before sleeping: lower latency for a core; it gives "
                        "way when it finds the machine busy (--spin-backoff-ms; default 0: never busy-poll)")
    p.add_argument("--spin-backoff-ms", type=float, default=1000.0, metavar="MS",
                   help="with --spin-ms: when a busy-poll turn finds its core taken (> 2 ms away), sleep between "
                        "frames for this many ms before busy-polling again (0: never give way; default %(default)g)")
    p.add_argument("--cpu", type=int, default=None, metavar="CORE",
                   help="run on this core only (Linux; e.g. one kept free of other work)")
    p.add_argument("--allow-remote", action="store_true")
    p.set_defaults(func=cmd_label)

    p = stream.add_parser("watch", help="print live labels from one or more labellers")
    p.add_argument("endpoints", nargs="*", default=[DEFAULT_OUT], metavar="ENDPOINT")
    p.add_argument("--finals-only", action="store_true", help="print only each process's final label")
    p.add_argument("--count", type=int, default=0, help="exit after this many final labels (0: run until Ctrl-C)")
    p.add_argument("--streams", type=int, default=0,
                   help="exit after this many streams' loss reports (0: run until Ctrl-C or --count)")
    p.add_argument("--report-timeout", type=_positive, default=10.0, metavar="SECONDS",
                   help="seconds to wait, after a stream's first labeller report, for the other labellers' "
                        "(default %(default)g)")
    p.add_argument("--allow-loss", action="store_true", help="exit 0 even when labels were lost")
    p.add_argument("--store", help="append each process's labels to this HDF5 file")
    p.add_argument("--spin-ms", type=float, default=0.0, help="busy-poll this long after each label before sleeping")
    p.set_defaults(func=cmd_watch)
