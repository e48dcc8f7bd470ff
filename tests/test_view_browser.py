"""``hil view`` in a real browser: headless Chromium on a store being written and a live label stream.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``) and
``selenium`` (the [dev] extra); skipped, saying so, where they are missing. Everything runs as the lab
runs it: ``hil run bias_sweep`` writes the store, ``hil stream publish`` fires processes on the
simulated bench's LLG twin, ``hil stream label`` labels them, ``hil view`` serves the page.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
except ImportError:
    selenium = None

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER and selenium),
    reason="headless browser test needs Debian's chromium and chromium-driver "
           "(`make browser`, i.e. apt-get install chromium chromium-driver) and selenium (the [dev] extra)")

POINTS = 60
#: All text of the page, through Bokeh's shadow roots (test code reading the DOM, not plotting).
PAGE_TEXT = """
function text(n) {
  let t = '';
  if (n.shadowRoot) t += text(n.shadowRoot);
  for (const k of n.childNodes) {
    if (k.nodeType === 3) t += k.textContent + ' ';
    else if ((k.nodeType === 1 && k.tagName !== 'STYLE' && k.tagName !== 'SCRIPT') || k.nodeType === 11) t += text(k);
  }
  return t;
}
return text(document.body).replace(/\\s+/g, ' ');
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hil(*args: str, cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hil.app.cli", *args], cwd=cwd, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1320,1900"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def wait_for(driver, pattern: str, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = driver.execute_script(PAGE_TEXT)
        m = re.search(pattern, text)
        if m:
            return m
        time.sleep(0.25)
    raise AssertionError(f"{pattern!r} did not appear on the page within {timeout:g} s; the page says: {text[:1500]}")


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    import torch

    from hil.models.classifier import ClassifierConfig, ProcessClassifier, export_onnx

    torch.manual_seed(0)  # untrained: the test is about the stream reaching the page, not about accuracy
    path = tmp_path_factory.mktemp("m") / "m.onnx"
    export_onnx(ProcessClassifier(ClassifierConfig(preprocessing="quantiles", input_size=32, hidden=16)), path,
                version="test")
    return path


def test_view_follows_a_running_sweep_and_live_labels(tmp_path, onnx_model):
    t_start = time.monotonic()
    store = tmp_path / "sweep.h5"
    view_port, frames_port, labels_port = free_port(), free_port(), free_port()
    procs = []
    logs = {name: tmp_path / f"{name}.log" for name in ("view", "sweep", "label", "publish")}
    try:
        procs.append(hil("view", str(store), "--port", str(view_port), "--stream", f"tcp://127.0.0.1:{labels_port}",
                         cwd=tmp_path, log=logs["view"]))
        procs.append(hil("stream", "label", "--model", str(onnx_model), "--in", f"tcp://127.0.0.1:{frames_port}",
                         "--out", f"tcp://127.0.0.1:{labels_port}", cwd=tmp_path, log=logs["label"]))
        driver = browser()
        try:
            url = f"http://127.0.0.1:{view_port}/"
            deadline = time.monotonic() + 20
            while True:  # the server may still be importing
                try:
                    driver.get(url)
                    wait_for(driver, "spin-hil live view", 5)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            loaded = time.monotonic()
            # the sweep has not started: the page says why it shows nothing, then follows the file once it exists
            wait_for(driver, "cannot read the file", 5)
            procs.append(hil("run", "bias_sweep", "--bench", str(ROOT / "benches/sim.toml"), "--quiet", "--out", str(store),
                             "--param", f"currents=0:3mA:{POINTS}", "--param", "settle=0.4s", cwd=tmp_path,
                             log=logs["sweep"]))
            procs.append(hil("stream", "publish", "--bench", str(ROOT / "benches/demo.toml"), "--processes", "6",
                             "--endpoint", f"tcp://127.0.0.1:{frames_port}", "--out", str(tmp_path / "publish.h5"),
                             cwd=tmp_path, log=logs["publish"]))
            started = time.monotonic()
            run_id = wait_for(driver, r"bias_sweep-\d{8}-\d{6}\S*", 30).group(0)
            print(f"run on the page {time.monotonic() - started:.1f} s after the sweep was started")
            first = int(wait_for(driver, rf"points: (\d+) / {POINTS}", 10).group(1))
            wait_for(driver, rf"{re.escape(run_id)} bias_sweep running", 5)  # the runs table
            grown = first
            deadline = time.monotonic() + 15
            while grown <= first and time.monotonic() < deadline:
                time.sleep(0.3)
                grown = int(wait_for(driver, rf"points: (\d+) / {POINTS}", 5).group(1))
            assert grown > first, f"the point count stayed at {first}"
            label = wait_for(driver, r"#\d+\s+(breathing|switching|collapse|mixed/unknown)\s+\[", 30).group(1)
            assert re.search(r"rate \d+\.\d labels/s", driver.execute_script(PAGE_TEXT))
            png = tmp_path / "page.png"
            driver.save_screenshot(str(png))
        finally:
            driver.quit()
        from PIL import Image

        image = Image.open(png).convert("RGB")
        colours = image.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50, "the screenshot is blank"
        assert max(c for c, _ in colours) < 0.97 * image.width * image.height
        print(f"run {run_id}: {first} → {grown} points seen; label {label!r}; page up after "
              f"{loaded - t_start:.1f} s, all done in {time.monotonic() - t_start:.1f} s")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for name, log in logs.items():
            if log.exists():
                print(f"--- {name} ---\n{log.read_text()[-1500:]}")
