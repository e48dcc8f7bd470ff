"""The README is tested: every ```bash block runs, in order, in a fresh folder, as a newcomer would type it.

Conventions (the README states them at the top of its tour):

- a ```bash block is run; other blocks (```sh, ```toml, ```python, plain) are shown only;
- a command continues over lines ending in ``\\``; ``# ...`` after it is a comment;
- ``#> TEXT`` under a command: its output (stdout + stderr) must contain TEXT, where ``...`` is anything,
  ``RUN_ID`` a run id, ``N`` a number, ``HOST`` a host name, and runs of spaces match any spacing;
- ``RUN_ID`` inside a command is the run id printed last by an earlier command;
- a command ending in ``&`` runs in the background until the tour ends (servers: twins, labellers, view);
- ``exits N`` in a command's comment: exit status N is what it is meant to return; any other non-zero fails.

Sizes: ``HIL_TOUR_SMALL`` (default 1) replaces the long commands' sizes with the ones in :data:`SMALL` (each
replacement must match the README, so none can rot); ``HIL_TOUR_SMALL=0`` runs every command exactly as written.
Run alone: ``pytest -m tour`` (or ``make tour``); the rest of the suite: ``-m "not tour"``.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.tour

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUN_ID = r"[A-Za-z_]+-\d{8}-\d{6}(?:-\d+)?"
#: README text → what the tour runs under HIL_TOUR_SMALL=1 (long commands only; each must occur in the README).
SMALL: dict[str, str] = {
    "--alpha 0.02:0.6:12 --t-w 2ps:40ps:14 --size 32 --dt 5fs --out out/train.h5":
        "--alpha 0.02:0.6:4 --t-w 2ps:40ps:4 --size 32 --dt 5fs --out out/train.h5",
}
#: The longest any one command may take (seconds) before the tour fails.
COMMAND_TIMEOUT = 600


def blocks(text: str) -> list[list[str]]:
    """The ```bash blocks of ``text``, each as its lines."""
    return [m.group(1).splitlines() for m in re.finditer(r"^```bash\n(.*?)^```", text, re.S | re.M)]


def commands(lines: list[str]) -> list[tuple[str, str, list[str]]]:
    """(command, its comment, its ``#>`` expectations) per command of a block."""
    out: list[tuple[str, str, list[str]]] = []
    pending = ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#>"):
            out[-1][2].append(stripped[2:].strip())
            continue
        if not stripped or (stripped.startswith("#") and not pending):
            continue
        code, comment = _split_comment(line)
        code = code.strip()
        if code.endswith("\\"):
            pending += code[:-1].strip() + " "
            continue
        out.append(((pending + code).strip(), comment, []))
        pending = ""
    return out


def _split_comment(line: str) -> tuple[str, str]:
    """Cut a line at its first ``#`` outside quotes."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i], line[i + 1:].strip()
    return line, ""


def pattern(expect: str, run_id: str | None) -> re.Pattern:
    parts = re.split(r"(\.\.\.|RUN_ID|\bN\b|\bHOST\b|\s+)", expect)
    rx = ""
    for part in parts:
        if part == "...":
            rx += ".*?"
        elif part == "RUN_ID":
            rx += RUN_ID
        elif part == "N":
            rx += r"\d+"
        elif part == "HOST":
            rx += r"\S+"
        elif part and part.isspace():
            rx += r"\s+"
        else:
            rx += re.escape(part)
    return re.compile(rx)


def shrink(text: str) -> str:
    if os.environ.get("HIL_TOUR_SMALL", "1") == "0":
        return text
    for old, new in SMALL.items():
        assert old in text, f"HIL_TOUR_SMALL: {old!r} is no longer in the README; update SMALL in {__file__}"
        text = text.replace(old, new)
    return text


def test_readme_tour(tmp_path: Path) -> None:
    text = shrink(README.read_text())
    (tmp_path / "benches").symlink_to(ROOT / "benches")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONUNBUFFERED="1", COLUMNS="200")
    background: list[tuple[str, subprocess.Popen, Path]] = []
    last_id: str | None = None
    log: list[str] = []
    try:
        for block in blocks(text):
            for cmd, comment, expects in commands(block):
                if "RUN_ID" in cmd:
                    assert last_id, f"{cmd!r} needs a run id, but no earlier command printed one"
                    cmd = cmd.replace("RUN_ID", last_id)
                if cmd.endswith("&"):
                    out = tmp_path / f"bg{len(background)}.log"
                    proc = subprocess.Popen(cmd[:-1], shell=True, cwd=tmp_path, env=env, stdout=out.open("w"),
                                            stderr=subprocess.STDOUT, start_new_session=True)
                    background.append((cmd, proc, out))
                    time.sleep(3)  # a server binds before the next command talks to it
                    assert proc.poll() is None, f"background command exited at once: {cmd}\n{out.read_text()}"
                    continue
                t0 = time.perf_counter()
                res = subprocess.run(cmd, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                                     timeout=COMMAND_TIMEOUT)
                output = res.stdout + res.stderr
                log.append(f"$ {cmd}  ({time.perf_counter() - t0:.1f} s, exit {res.returncode})")
                m = re.search(r"exits (\d+)", comment)
                expected = int(m.group(1)) if m else 0
                assert res.returncode == expected, (f"README command exited {res.returncode}, expected "
                                                    f"{expected}:\n$ {cmd}\n{output[-3000:]}")
                assert "Warning:" not in output and "WARNING" not in output, \
                    f"third-party warning in the output of {cmd}:\n{output[-3000:]}"
                for expect in expects:
                    assert pattern(expect, last_id).search(output), \
                        f"output of {cmd!r} no longer matches the README's {expect!r}:\n{output[-3000:]}"
                ids = re.findall(RUN_ID, output)
                if ids:
                    last_id = ids[-1]
    finally:
        for cmd, proc, out in background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        for cmd, proc, out in background:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        print("\n".join(log))
    for cmd, proc, out in background:
        text = out.read_text()
        assert "hil: error" not in text and "Traceback" not in text, f"background command failed: {cmd}\n{text[-3000:]}"


def test_tour_conventions_parse() -> None:
    """The parser itself: continuation lines, comments, expectations, exit codes."""
    lines = ["hil a \\", "    --b 1   # exits 2: why", "#> out RUN_ID ... N", "# a comment", "hil c &"]
    cmds = commands(lines)
    assert cmds[0] == ("hil a --b 1", "exits 2: why", ["out RUN_ID ... N"])
    assert cmds[1][0] == "hil c &"
    assert pattern("run RUN_ID: complete, N records", None).search("run bias_sweep-20261206-004655: complete, 9 records")
    assert shlex.split(cmds[0][0]) == ["hil", "a", "--b", "1"]
