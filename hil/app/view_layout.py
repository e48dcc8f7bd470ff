"""The page of ``hil view``: Bokeh models only (no hand-written JavaScript), one :class:`Page` per browser tab.

Three sections on one page: the store's runs (a table, the selected run's
details and its records plotted as they arrive), the process diagram (the
newest ``process_diagram`` run filling its (α, t_w) grid), and the live
labels of the labeller stream. Each page refreshes on a periodic callback of
the server's event loop; the reading itself is shared by every page
(:class:`hil.app.view_data.StorePoller`, :class:`hil.app.view_stream.StreamFollower`)
and bounded per tick, and a page sends the browser only what changed
(new points are streamed, the diagram is patched point by point).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import (ColumnDataSource, DataTable, Div, FactorRange, LinearColorMapper, Range1d, TableColumn)
from bokeh.palettes import RdBu11
from bokeh.plotting import figure
from bokeh.transform import dodge

from hil.app.view_data import Followed, StorePoller, bench_name, downsample, short_params
from hil.app.view_stream import StreamFollower, label_line
from hil.labels import CLASSES, COLOURS, PHYSICS, UNKNOWN

PS = 1e-12
PENDING, DAMAGED_COLOUR = "#ffffff", "#000000"
STRIP_PROCESSES = 12
RECENT_LINES = 12
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def _fig(title: str, x: str, y: str, **kw: Any):
    p = figure(title=title, x_axis_label=x, y_axis_label=y, height=260, width=420, tools=TOOLS, **kw)
    p.title.text_font_size = "11pt"
    return p


def _eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _rate(rate: float | None) -> str:
    if not rate:
        return ""
    return f"{rate:.3g} pt/s" if rate >= 0.01 else f"{rate * 3600:.3g} pt/h"


def _swatch(colour: str) -> str:
    return (f'<span style="display:inline-block;width:10px;height:10px;background:{colour};'
            f'border:1px solid #888;margin:0 3px 0 8px"></span>')


class Page:
    """One browser tab's document: builds the models, then updates them every ``tick_s``."""

    def __init__(self, doc: Any, poller: StorePoller, stream: StreamFollower | None, tick_s: float = 0.3):
        self.doc, self.poller, self.stream = doc, poller, stream
        self.selected: str | None = None
        self._rows_version = -1
        self._run_key: tuple | None = None  # (run id, follower version) shown
        self._cursor = 0  # summaries of the selected run already sent to the browser
        self._diagram: str | None = None
        self._diagram_cursor = 0
        self._diagram_version = -1
        self._stream_version = -1
        self._row_ids: list[str] = []
        self._build()
        doc.title = f"hil view · {poller.path.name}"
        doc.add_root(self.root)
        self.update(first=True)
        doc.add_periodic_callback(self.update, int(tick_s * 1000))

    # -- models ------------------------------------------------------------------------
    def _build(self) -> None:
        self.banner = Div(text="", width=1280)
        header = Div(text=f"<h2 style='margin:4px 0'>spin-hil live view</h2>"
                          f"<code>{html.escape(str(self.poller.path))}</code>", width=1280)

        # runs
        self.runs_src = ColumnDataSource({k: [] for k in ("run_id", "protocol", "status", "progress", "rate", "eta",
                                                          "params", "bench", "started")})
        cols = [TableColumn(field="run_id", title="run", width=230), TableColumn(field="protocol", title="protocol", width=110),
                TableColumn(field="status", title="status", width=200),
                TableColumn(field="progress", title="points", width=80), TableColumn(field="rate", title="rate", width=70),
                TableColumn(field="eta", title="left", width=60), TableColumn(field="params", title="params", width=330),
                TableColumn(field="bench", title="bench", width=70), TableColumn(field="started", title="started", width=110)]
        self.table = DataTable(source=self.runs_src, columns=cols, width=1280, height=150, index_position=None,
                               selectable=True)
        self.runs_src.selected.on_change("indices", self._on_select)
        self.details = Div(text="", width=1280)

        self.spec_src = ColumnDataSource({"f_ghz": [], "p_dbm": []})
        self.peak_src = ColumnDataSource({"f_ghz": [], "p_dbm": []})
        self.spectrum = _fig("spectrum (newest record)", "frequency (GHz)", "power (dBm)")
        self.spectrum.line("f_ghz", "p_dbm", source=self.spec_src, line_width=1.2)
        self.spectrum.scatter("f_ghz", "p_dbm", source=self.peak_src, size=9, color="#d62728", legend_label="peak")
        self.zs_src = ColumnDataSource({"t_ns": [], "p_dbm": []})
        self.zerospan = _fig("zero span at the peak (newest record)", "time (ns)", "power (dBm)")
        self.zerospan.line("t_ns", "p_dbm", source=self.zs_src, line_width=1.2)
        self.series_src = ColumnDataSource({"i_ma": [], "v": [], "f_ghz": []})
        self.iv = _fig("bias sweep: I–V", "current (mA)", "voltage (V)")
        self.iv.scatter("i_ma", "v", source=self.series_src, size=6)
        self.iv.line("i_ma", "v", source=self.series_src)
        self.fi = _fig("line frequency vs current", "current (mA)", "peak frequency (GHz)")
        self.fi.scatter("i_ma", "f_ghz", source=self.series_src, size=6, color="#dd8452")
        self.fi.line("i_ma", "f_ghz", source=self.series_src, color="#dd8452")
        self.frame_src = ColumnDataSource({"image": [], "dw": [], "dh": []})
        self.frame = _fig("S_z (newest record, last frame)", "x (sites)", "y (sites)", match_aspect=True)
        self.frame.image("image", x=0, y=0, dw="dw", dh="dh", source=self.frame_src,
                         color_mapper=LinearColorMapper(palette=RdBu11, low=-1, high=1))
        self.record_plots = [self.spectrum, self.zerospan, self.iv, self.fi, self.frame]
        for p in self.record_plots:
            p.visible = False
        self.no_plots = Div(text="", width=1280)

        # diagram
        self.diag_src = ColumnDataSource({"tw_ps": [], "alpha": [], "fill": [], "line": [], "label": [], "index": []})
        self.diagram = figure(title="process diagram", x_axis_label="pulse width t_w (ps)", y_axis_label="damping α",
                              height=360, width=560, tools=TOOLS + ",hover",
                              tooltips=[("point", "@index"), ("t_w (ps)", "@tw_ps{0.0}"), ("α", "@alpha{0.000}"),
                                        ("label", "@label")])
        self.diag_glyph = self.diagram.scatter("tw_ps", "alpha", source=self.diag_src, marker="square", size=14,
                                               fill_color="fill", line_color="line")
        self.diagram.visible = False
        self.diag_info = Div(text="<i>no process_diagram run in this file yet</i>", width=680)

        # live labels
        self.health = Div(text="", width=1280)
        self.strip_src = ColumnDataSource({"seq": [], "process": [], "colour": [], "label": []})
        self.strip = figure(title="label per frame (newest processes at the top)", x_axis_label="frame (seq)",
                            y_range=FactorRange(factors=[]), height=300, width=560, tools="hover,save",
                            tooltips=[("process", "@process"), ("frame", "@seq"), ("label", "@label")])
        self.strip.rect("seq", "process", width=0.9, height=0.8, source=self.strip_src, fill_color="colour",
                        line_color=None)
        self.prob_src = ColumnDataSource({"seq": [], **{c: [] for c in CLASSES}})
        self.probs = figure(title="class probabilities over time", x_axis_label="frame (seq)", y_axis_label="p",
                            y_range=Range1d(0, 1.02), height=300, width=420, tools=TOOLS)
        for c in CLASSES:
            self.probs.line("seq", c, source=self.prob_src, color=COLOURS[c], line_width=2, legend_label=c)
            self.probs.scatter("seq", c, source=self.prob_src, color=COLOURS[c], size=5)
        self.probs.legend.location = "top_left"
        names = list(CLASSES) + [UNKNOWN]
        self.count_src = ColumnDataSource({"label": names, "frames": [0] * len(names), "finals": [0] * len(names)})
        self.counts = figure(title="counts per label", x_range=FactorRange(factors=names), height=300, width=300,
                             tools="save")
        self.counts.vbar(x=dodge("label", -0.18, range=self.counts.x_range), top="frames", width=0.34,
                         source=self.count_src, color="#9ecae1", legend_label="frames")
        self.counts.vbar(x=dodge("label", 0.18, range=self.counts.x_range), top="finals", width=0.34,
                         source=self.count_src, color="#3182bd", legend_label="final")
        self.counts.xaxis.major_label_orientation = 0.5
        self.counts.y_range.start = 0
        self.live_frame_src = ColumnDataSource({"image": [], "dw": [], "dh": []})
        self.live_frame = _fig("latest frame", "x", "y", match_aspect=True)
        self.live_frame.image("image", x=0, y=0, dw="dw", dh="dh", source=self.live_frame_src,
                              color_mapper=LinearColorMapper(palette=RdBu11, low=-1, high=1))
        self.live_frame.visible = False
        self.frame_note = Div(text="", width=400)
        self.recent = Div(text="", width=840)

        def section(title: str) -> Div:
            return Div(text=f"<h3 style='margin:14px 0 2px 0;border-bottom:1px solid #ccc'>{title}</h3>", width=1280)

        self.root = column(
            header, self.banner,
            section("Runs"), self.table, self.details, self.no_plots,
            row(self.spectrum, self.zerospan, self.frame), row(self.iv, self.fi),
            section("Process diagram"), row(self.diagram, self.diag_info),
            section("Live labels"), self.health, row(self.strip, self.probs, self.counts),
            row(column(self.frame_note, self.live_frame), self.recent),
        )

    # -- selection ---------------------------------------------------------------------
    def _on_select(self, attr: str, old: list[int], new: list[int]) -> None:
        if new and new[0] < len(self._row_ids) and self._row_ids[new[0]] != self.selected:
            self.selected = self._row_ids[new[0]]
            self._reset_run()
            self.poller.want([self.selected])
            self.poller.tick(force=True)
            self._update_run()

    def _reset_run(self) -> None:
        self._cursor, self._run_key = 0, None
        for src in (self.spec_src, self.peak_src, self.zs_src, self.series_src, self.frame_src):
            src.data = {k: [] for k in src.data}

    # -- the tick ----------------------------------------------------------------------------
    def update(self, first: bool = False) -> None:
        poller = self.poller
        poller.want([self.selected, self._diagram])
        ticked = poller.tick(force=first)
        if self.selected is None and poller.rows:
            self.selected = poller.default_run()
            self._diagram = poller.latest_diagram()
            poller.want([self.selected, self._diagram])
            poller.tick(force=True)
        elif ticked:
            latest = poller.latest_diagram()
            if latest != self._diagram:
                self._diagram, self._diagram_version = latest, -1
        self._update_banner()
        self._update_table()
        self._update_run()
        self._update_diagram()
        self._update_live()

    def _update_banner(self) -> None:
        err = self.poller.error
        text = (f"<div style='background:#fdecea;color:#b00020;padding:6px;border:1px solid #b00020'>"
                f"<b>cannot read the file</b>: {html.escape(err)}<br>the view keeps trying every tick; "
                f"fix the path or wait for the writer to create it.</div>") if err else ""
        if text != self.banner.text:
            self.banner.text = text

    def _update_table(self) -> None:
        if self.poller.rows_version == self._rows_version:
            return
        self._rows_version = self.poller.rows_version
        rows = self.poller.rows
        self._row_ids = [r.run_id for r in rows]
        self.runs_src.data = {
            "run_id": self._row_ids, "protocol": [r.protocol for r in rows], "status": [r.status for r in rows],
            "progress": [r.progress for r in rows], "rate": [_rate(r.rate) for r in rows],
            "eta": [_eta(r.eta_s) for r in rows], "params": [r.params for r in rows],
            "bench": [r.bench for r in rows], "started": [r.started[:19].replace("T", " ") for r in rows]}
        if self.selected in self._row_ids:
            idx = [self._row_ids.index(self.selected)]
            if list(self.runs_src.selected.indices) != idx:
                self.runs_src.selected.indices = idx

    def _update_run(self) -> None:
        f = self.poller.follow(self.selected)
        if f is None:
            if not self.poller.rows and not self.poller.error:
                self.details.text = "<i>no runs in this file yet; the view shows them as they start</i>"
            return
        key = (f.run_id, f.version, self.poller.rows_version)
        if key == self._run_key:
            return
        self._run_key = key
        row_ = next((r for r in self.poller.rows if r.run_id == f.run_id), None)
        self.details.text = self._details_html(f, row_)
        new = f.summaries[self._cursor:]
        self._cursor = len(f.summaries)
        series = [s for s in new if "current" in s and not s.get("damaged")]
        if series:
            self.series_src.stream({
                "i_ma": [s["current"] * 1e3 for s in series], "v": [s.get("voltage", math.nan) for s in series],
                "f_ghz": [s.get("peak_frequency", math.nan) / 1e9 for s in series]})
        self._show_latest(f, bool(series))

    def _details_html(self, f: Followed, r: Any) -> str:
        status = html.escape(r.status) if r else "?"
        total = r.total if r and r.total is not None else "?"
        rate = f" · {_rate(r.rate)}" if r and r.rate else ""
        eta = f" · {_eta(r.eta_s)} left" if r and r.eta_s is not None else ""
        loading = f" (reading: {f.backlog} still to load)" if f.backlog else ""
        damaged = f.damaged
        dmg = ""
        if damaged or f.damage:
            items = [f"record {d['index']}: {html.escape(d['damaged'][:200])}" for d in damaged[-5:]]
            items += [html.escape(m[:200]) for m in f.damage[-5:]]
            dmg = (f"<div style='color:#b00020'><b>damaged: {len(damaged)} record(s)</b> — shown as damaged, "
                   f"not as data<br>" + "<br>".join(items) + "</div>")
        params = html.escape(short_params(f.params, width=400))
        bench = html.escape(bench_name(f.bench_text) or "none recorded")
        return (f"<b>{html.escape(f.run_id)}</b> · {html.escape(f.protocol)} · <b>{status}</b> · "
                f"points: <b>{f.done} / {total}</b>{rate}{eta}{loading}"
                f"<div style='font-size:85%;color:#555;max-width:1260px;overflow-wrap:anywhere'>params: {params}"
                f"<br>bench: {bench} ({len(f.bench_text.splitlines())} lines, kept with the run)</div>{dmg}")

    def _show_latest(self, f: Followed, have_series: bool) -> None:
        rec = f.latest
        data = rec.data if rec is not None else {}
        attrs = rec.attrs if rec is not None else {}
        shown = []
        if "frequency" in data and "power_dbm" in data:
            self.spec_src.data = {"f_ghz": np.asarray(data["frequency"]) / 1e9, "p_dbm": np.asarray(data["power_dbm"])}
            if "peak_frequency" in attrs:
                self.peak_src.data = {"f_ghz": [float(attrs["peak_frequency"]) / 1e9],
                                      "p_dbm": [float(attrs.get("peak_power_dbm", np.max(data["power_dbm"])))]}
            self.spectrum.title.text = f"spectrum (record {rec.index})"
            shown.append(self.spectrum)
        if "zero_span_time" in data and "zero_span_dbm" in data:
            self.zs_src.data = {"t_ns": np.asarray(data["zero_span_time"]) * 1e9,
                                "p_dbm": np.asarray(data["zero_span_dbm"])}
            self.zerospan.title.text = f"zero span at the peak (record {rec.index})"
            shown.append(self.zerospan)
        if have_series or len(self.series_src.data["i_ma"]):
            shown += [self.iv, self.fi]
        frames = data.get("frames")
        if frames is not None and np.ndim(frames) in (2, 3):
            img = downsample(np.asarray(frames if np.ndim(frames) == 2 else frames[-1], dtype=np.float32))
            n = int(np.shape(frames)[-1])
            self.frame_src.data = {"image": [img], "dw": [n], "dh": [n]}
            times = data.get("times")
            t = f", t = {float(times[-1]) / PS:.0f} ps" if times is not None and np.size(times) else ""
            self.frame.title.text = f"S_z (record {rec.index}, last frame{t})"
            shown.append(self.frame)
        for p in self.record_plots:
            p.visible = p in shown
        self.no_plots.text = "" if shown or rec is None else \
            f"<i>record {rec.index} has no field this view plots ({', '.join(sorted(data)) or 'scalars only'})</i>"

    def _update_diagram(self) -> None:
        f = self.poller.follow(self._diagram)
        if f is None or not f.protocol:
            return
        self.diagram.visible = True
        if f.version == self._diagram_version:
            return
        if self._diagram_version == -1 or self.diag_src.tags != [f.run_id]:
            alphas, widths = f.params.get("alphas", []), f.params.get("widths", [])
            grid = [(a, w) for a in alphas for w in widths]
            n = len(grid)
            self.diag_src.data = {"tw_ps": [w / PS for _, w in grid], "alpha": [a for a, _ in grid],
                                  "fill": [PENDING] * n, "line": ["#999999"] * n, "label": ["pending"] * n,
                                  "index": list(range(n))}
            self.diag_src.tags = [f.run_id]
            self._diagram_cursor = 0
            nx, ny = max(len(widths), 1), max(len(alphas), 1)
            self.diag_glyph.glyph.size = max(6, min(28, int(min(440 / nx, 280 / ny) * 0.8)))
            th = f.params.get("theta_deg", "?")
            self.diagram.title.text = (f"process diagram {f.run_id}: θ = {th}°, T = {f.params.get('temperature', '?')} K, "
                                       f"L = {f.params.get('size', '?')}")
        self._diagram_version = f.version
        new = f.summaries[self._diagram_cursor:]
        self._diagram_cursor = len(f.summaries)
        n = len(self.diag_src.data["index"])
        patch: dict[str, list] = {"fill": [], "line": [], "label": []}
        for s in new:
            i = int(s["index"])
            if not 0 <= i < n:
                continue
            if s.get("damaged"):
                fill, line, label = DAMAGED_COLOUR, DAMAGED_COLOUR, "damaged"
            else:
                label = str(s.get("label", "?"))
                fill = line = COLOURS.get(label, "#bbbbbb")
            patch["fill"].append((i, fill))
            patch["line"].append((i, line))
            patch["label"].append((i, label))
        if patch["fill"]:
            self.diag_src.patch(patch)
        labels = self.diag_src.data["label"]
        counts = {k: labels.count(k) for k in PHYSICS}
        pending, damaged = labels.count("pending"), labels.count("damaged")
        legend = "".join(f"{_swatch(COLOURS[k])}{k} {counts[k]}" for k in PHYSICS)
        legend += f"{_swatch(PENDING)}pending {pending}{_swatch(DAMAGED_COLOUR)}damaged {damaged}"
        self.diag_info.text = (f"<b>{n - pending} / {n}</b> grid points done ({html.escape(f.run_id)})<br>{legend}"
                               f"<br><span style='font-size:85%;color:#555'>labels are the physics rule's "
                               f"({', '.join(PHYSICS)}), read off each finished process</span>")

    def _update_live(self) -> None:
        if self.stream is None:
            if not self.health.text:
                self.health.text = "<i>no label stream: started with --no-stream</i>"
                for p in (self.strip, self.probs, self.counts, self.live_frame):
                    p.visible = False
            return
        snap = self.stream.snapshot(since=10 ** 12)  # no events: the page redraws from the processes
        health = snap["health"]
        colour = "#2e7d32" if health.state.startswith("receiving") else "#b26a00"
        errors = "".join(f"<br><span style='color:#b00020'>{html.escape(e)}</span>" for e in snap["errors"][-3:])
        text = (f"<b style='color:{colour}'>{html.escape(health.state)}</b><br>"
                f"<code>{html.escape(health.text())}</code>{errors}")
        if text != self.health.text:
            self.health.text = text
        if snap["version"] == self._stream_version:
            return
        self._stream_version = snap["version"]
        procs = snap["processes"][:STRIP_PROCESSES]
        seq, proc, colour_, label = [], [], [], []
        for p in procs:
            for s, lab in zip(p.seqs, p.labels):
                seq.append(s), proc.append(p.process), colour_.append(COLOURS.get(lab, "#bbbbbb")), label.append(lab)
        self.strip.y_range.factors = [p.process for p in reversed(procs)]
        self.strip_src.data = {"seq": seq, "process": proc, "colour": colour_, "label": label}
        latest = next((p for p in procs if p.probs), None)
        if latest is not None:
            cols = {c: [row_[k] if k < len(row_) else math.nan for row_ in latest.probs] for k, c in enumerate(CLASSES)}
            self.prob_src.data = {"seq": list(latest.seqs), **cols}
            final = f" → final {latest.final}" if latest.final else ""
            self.probs.title.text = f"class probabilities: {latest.process}{final}"
        names = self.count_src.data["label"]
        self.count_src.data = {"label": names, "frames": [snap["frames"].get(n, 0) for n in names],
                               "finals": [snap["finals"].get(n, 0) for n in names]}
        framed = next((p for p in procs if p.frame is not None), None)
        if framed is not None:
            img = downsample(np.asarray(framed.frame, dtype=np.float32))
            self.live_frame_src.data = {"image": [img], "dw": [framed.frame.shape[-1]], "dh": [framed.frame.shape[-2]]}
            self.live_frame.title.text = f"latest frame: {framed.process}"
            self.live_frame.visible = True
            self.frame_note.text = ""
        else:
            self.frame_note.text = ("<i>no frames to show: the label stream carries labels only (the labeller "
                                    "publishes no frame with its labels); the frames themselves go to the "
                                    "labeller on the publisher's endpoint.</i>")
        lines = [label_line(h) for p in procs[:4] for h in _recent_headers(p)]
        self.recent.text = ("<b>latest labels</b> (as <code>hil stream watch</code> prints them)<pre style='margin:0'>"
                            + html.escape("\n".join(lines[:RECENT_LINES]) or "none yet") + "</pre>")


def _recent_headers(p: Any) -> list[dict]:
    """The newest labels of a process as watch headers (final first)."""
    out = []
    if p.final is not None:
        out.append({"kind": "final", "process": p.process, "label": p.final, "probs": p.probs[-1] if p.probs else [],
                    "frames": len(p.seqs), "timed_out": p.timed_out})
    for s, lab, pr in list(zip(p.seqs, p.labels, p.probs))[-3:][::-1]:
        out.append({"kind": "label", "process": p.process, "seq": s, "label": lab, "probs": pr})
    return out


def make_document(doc: Any, poller: StorePoller, stream: StreamFollower | None, tick_s: float) -> None:
    """Bokeh's per-session entry point."""
    Page(doc, poller, stream, tick_s)


__all__ = ["Page", "make_document"]
