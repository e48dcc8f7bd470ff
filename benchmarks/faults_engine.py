"""Fault suite of the run engine and the bench shutdown: does every catchable exit leave the outputs off?

Each trial runs ``hil run bias_sweep`` in a subprocess against the SCPI twins
(``hil twins serve``, real PyVISA), lets it record a random 1–4 points, then
applies the fault. Afterwards a fresh VISA connection asks the bias source
itself (``OUTP?``, ``:SOUR:CURR?``) and the store is read back.

Faults: SIGINT once, SIGINT twice (the second while a slow instrument is still
shutting down), SIGTERM, SIGHUP, SIGTERM with a hung instrument first in the
shutdown order (``--shutdown-timeout 1s``), a resume with a changed bench
file (must be refused, naming the difference, with the stored run untouched),
and SIGKILL (cannot be caught: the output stays as it was) followed by
``--resume`` of the killed run, which must keep every finished record, redo
only the rest, end complete and switch the output off.

Per fault it prints: tried; survived (exit status as documented, run marked
with the signal, every finished record still readable, or the refusal as
expected); finished records lost (must be 0); outputs confirmed off (the VISA
answer, and the CLI's own read-back line).

    .venv/bin/python benchmarks/faults_engine.py --trials 10
    .venv/bin/python benchmarks/faults_engine.py --trials 100 --faults SIGKILL --name faults_engine_sigkill

Writes results/<name>.json (default faults_engine; ``$HIL_RESULTS_DIR`` or benchmarks/results/): per fault
tried, survived, finished records lost, outputs off, CLI read-back lines, with command, machine, date, load
and code version (``_record.py``).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or ROOT / "benchmarks" / "results")  # run_all --quick: elsewhere

from hil.app.cli_twins import ServedTwins  # noqa: E402

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _record import provenance, write_result  # noqa: E402
from tests.test_exits import _visa_bias, plugin_environment  # noqa: E402
LIMITS = """
[limits]
max_bias_current = 0.005
max_compliance_voltage = 10.0
max_pulse_amplitude = 5.0
"""
SAMPLE = '[samples.oscillators]\nclass = "oscillator-array"\noptions = { n = 2 }\n'
TWINS = (SAMPLE + '[roles.bias_source]\ntwin = "sim-bias-source"\nsample = "oscillators"\nscpi = "keithley2400"\n'
         '[roles.spectrum_analyser]\ntwin = "sim-spectrum-analyser"\nsample = "oscillators"\nscpi = "keysight_xseries"\n')
VISA = 'options = { visa_library = "@py", read_termination = "\\n", write_termination = "\\n", timeout = 3000 }\n'

SWEEP = ["--param", "currents=1mA:3mA:40", "--param", "settle=100ms", "--param", "points=201", "--quiet"]
KILL_SWEEP = ["--param", "currents=1mA:3mA:10", "--param", "settle=50ms", "--param", "points=201", "--quiet"]
FAULTS = ["SIGINT x1", "SIGINT x2", "SIGTERM", "SIGHUP", "hung instrument", "resume, changed bench", "SIGKILL"]


def hil(*args: str) -> list[str]:
    return [sys.executable, "-m", "hil.app.cli", *args]


class Served(ServedTwins):
    """The twin server, plus a VISA read-back of the bias source's output."""

    def __init__(self, bench: Path):
        super().__init__(bench, cwd=ROOT)

    def bias(self) -> tuple[str, float]:
        return _visa_bias(self)




def driver(role: str, name: str, resource: str) -> str:
    return f'[roles.{role}]\ndriver = "{name}"\nresource = "{resource}"\n' + VISA


def read_back(out: Path) -> tuple[str, str, int, bool]:
    """(status, message, finished records, every one readable)."""
    from hil.store import Store

    with Store(out, "r") as store:
        run = store.run(store.run_ids()[0])
        done = run.completed()
        ok = True
        for i in done:
            try:
                run.record(i)["voltage"]
            except Exception:
                ok = False
        return run.status, run.attrs["message"], len(done), ok


def wait_records(proc: subprocess.Popen, out: Path, n: int, timeout: float = 60) -> int:
    from hil.store import Store

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            with Store(out, "r") as store:
                ids = store.run_ids()
                k = len(store.run(ids[0]).completed()) if ids else 0
            if k >= n:
                return k
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no {n} records in time (rc {proc.poll()})")


def kill_trial(plain: Path, served: Served, folder: Path, env: dict, rng: random.Random) -> dict:
    """SIGKILL mid-sweep, then ``--resume``: nothing finished is lost and the resumed run switches off."""
    from hil.store import Store

    out = folder / f"SIGKILL-{rng.random():.9f}.h5"
    proc = subprocess.Popen(hil("run", "bias_sweep", "--bench", str(plain), "--out", str(out), *KILL_SWEEP),
                            cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    wait_records(proc, out, rng.randint(1, 6))
    time.sleep(rng.uniform(0, 0.05))
    proc.kill()
    proc.communicate(timeout=60)
    with Store(out, "r") as store:  # what a reader sees right after the kill
        run_id = store.run_ids()[0]
        killed = store.run(run_id)
        status_after_kill, before = killed.status, set(killed.completed())
    again = subprocess.run(hil("run", "bias_sweep", "--bench", str(plain), "--out", str(out), *KILL_SWEEP,
                               "--resume", run_id), cwd=ROOT, capture_output=True, text=True, env=env)
    status, _, after, readable = read_back(out)
    with Store(out, "r") as store:
        kept = before <= set(store.run(run_id).completed())
    outp, current = served.bias()
    survived = (status_after_kill == "interrupted" and again.returncode == 0 and status == "complete"
                and after == 10 and readable and kept)
    return {"survived": survived, "lost": 0 if kept else len(before), "off": outp == "0" and current == 0.0,
            "said": "bias_source: output OFF (read back)" in again.stderr,
            "err": "" if survived else f"status after kill {status_after_kill!r}, resume rc {again.returncode}: "
                                       f"{again.stderr[-2000:]}"}


def trial(fault: str, served: Served, folder: Path, env: dict, rng: random.Random) -> dict:
    res = served.resources
    if fault == "SIGKILL":
        plain = folder / "scpi.toml"
        plain.write_text(textwrap.dedent(LIMITS) + driver("bias_source", "keithley2400", res["bias_source"])
                         + driver("spectrum_analyser", "keysight-xseries", res["spectrum_analyser"]))
        return kill_trial(plain, served, folder, env, rng)
    plain = folder / "scpi.toml"
    plain.write_text(textwrap.dedent(LIMITS) + driver("bias_source", "keithley2400", res["bias_source"])
                     + driver("spectrum_analyser", "keysight-xseries", res["spectrum_analyser"]))
    out = folder / f"{fault}-{rng.random():.9f}.h5"
    extra: list[str] = []
    bench = plain
    if fault in ("SIGINT x2", "hung instrument"):
        analyser = "slow-analyser" if fault == "SIGINT x2" else "hung-analyser"
        bench = folder / f"{analyser}.toml"
        bench.write_text(textwrap.dedent(LIMITS) + SAMPLE
                         + f'[roles.spectrum_analyser]\ntwin = "{analyser}"\nsample = "oscillators"\n'
                         + driver("bias_source", "keithley2400", res["bias_source"]))
        if fault == "hung instrument":
            extra = ["--shutdown-timeout", "1s"]
    proc = subprocess.Popen(hil("run", "bias_sweep", "--bench", str(bench), "--out", str(out), *SWEEP, *extra),
                            cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    before = wait_records(proc, out, rng.randint(1, 4))
    time.sleep(rng.uniform(0, 0.1))  # land anywhere within a point
    sig = {"SIGINT x1": signal.SIGINT, "SIGINT x2": signal.SIGINT, "SIGTERM": signal.SIGTERM,
           "SIGHUP": signal.SIGHUP, "hung instrument": signal.SIGTERM,
           "resume, changed bench": signal.SIGTERM}[fault]
    proc.send_signal(sig)
    if fault == "SIGINT x2":
        time.sleep(0.4)
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    status, message, after, readable = read_back(out)
    expected_rc = 128 + sig
    survived = (proc.returncode == expected_rc and message == f"interrupted by {sig.name}" and readable
                and status in ("interrupted", "failed"))
    lost = max(0, before - after)
    if fault == "resume, changed bench":
        from hil.store import Store

        with Store(out, "r") as store:
            run_id = store.run_ids()[0]
        changed = folder / "changed.toml"
        changed.write_text(plain.read_text().replace("max_bias_current = 0.005", "max_bias_current = 0.004"))
        again = subprocess.run(hil("run", "bias_sweep", "--bench", str(changed), "--out", str(out), *SWEEP,
                                   "--resume", run_id), cwd=ROOT, capture_output=True, text=True, env=env)
        status2, _, after2, readable2 = read_back(out)
        survived = survived and again.returncode == 1 and "bench file text differs" in again.stderr \
            and after2 == after and readable2 and status2 == status
        lost += max(0, after - after2)
    outp, current = served.bias()
    off = outp == "0" and current == 0.0
    said = "bias_source: output OFF (read back)" in err
    return {"survived": survived, "lost": lost, "off": off, "said": said,
            "err": err if not (survived and off and said) else ""}


def parse_faults(text: str) -> tuple[list[str], list[str]]:
    """(faults, unknown) from a comma list; a name with a comma of its own ("resume, changed bench") is
    taken whole."""
    faults, unknown, pieces = [], [], [x.strip() for x in text.split(",")]
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):  # the longest run of pieces that is one name
            name = ", ".join(pieces[i:j])
            if name in FAULTS:
                faults.append(name)
                i = j
                break
        else:
            if pieces[i]:
                unknown.append(pieces[i])
            i += 1
    return faults, unknown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="trials per fault")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma list of: {', '.join(FAULTS)}")
    parser.add_argument("--name", default="faults_engine", help="results/NAME.json (default %(default)s)")
    args = parser.parse_args(argv)
    header = provenance(argv, __file__)
    rng = random.Random(args.seed)
    faults, unknown = parse_faults(args.faults)
    if unknown or not faults:
        parser.error(f"unknown fault(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(FAULTS)}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = plugin_environment(folder / "plugin")  # the hung and slow analysers of tests/test_exits.py
        twins = folder / "twins.toml"
        twins.write_text(textwrap.dedent(LIMITS) + TWINS)
        served = Served(twins)
        rows = []
        start = time.time()
        try:
            for fault in faults:
                tried = survived = lost = off = said = 0
                for _ in range(args.trials):
                    r = trial(fault, served, folder, env, rng)
                    tried += 1
                    survived += r["survived"]
                    lost += r["lost"]
                    off += r["off"]
                    said += r["said"]
                    if r["err"]:
                        print(f"--- {fault}: not survived or not off:\n{r['err']}", file=sys.stderr)
                rows.append((fault, tried, survived, lost, off, said))
                print(f"{fault}: {survived}/{tried} survived, {lost} lost, {off}/{tried} off, {said}/{tried} "
                      "read back by the CLI", file=sys.stderr)
        finally:
            served.stop()
    print("| fault | tried | survived | finished records lost | outputs off (VISA afterwards: OUTP? 0, 0 A) "
          "| CLI printed `bias_source: output OFF (read back)` |")
    print("|---|---|---|---|---|---|")
    for fault, tried, survived, lost, off, said in rows:
        print(f"| {fault} | {tried} | {survived} | {lost} | {off} | {said} |")
    wall = time.time() - start
    print(f"\n{wall:.0f} s in all")
    ok = all(s == t and lost == 0 and o == t and c == t for _, t, s, lost, o, c in rows)
    keys = ("tried", "survived", "finished_records_lost", "outputs_off", "cli_read_back")
    write_result(RESULTS / f"{args.name}.json", {
        **header, "trials": args.trials, "seed": args.seed, "faults": faults,
        "results": {fault: dict(zip(keys, counts)) for fault, *counts in rows},
        "all_survived": ok, "wall_s": round(wall, 1)})
    print(f"→ {RESULTS / (args.name + '.json')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
