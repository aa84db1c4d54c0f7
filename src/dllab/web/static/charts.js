// Training curves from history records (the lines of a run's history.jsonl), drawn with uPlot:
// one chart per metric (loss first, at most four), one line per model (or per run when
// comparing), validation dashed, x = the optimizer step.
"use strict";

const NOT_METRICS = new Set(["model", "kind", "epoch", "step", "time", "lr", "grad_norm", "clip_factor"]);
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

class Curves {
  constructor(container, maxCharts = 4) {
    this.container = container;
    this.maxCharts = maxCharts;
    this.groups = new Map();  // label -> records
    this.charts = new Map();  // metric -> {plot, signature}
    this.count = 0;
    this.pending = false;
  }

  add(records, label = null) {
    for (const r of records) {
      const key = label === null ? String(r.model ?? "run") : label + (r.model ? " · " + r.model : "");
      if (!this.groups.has(key)) this.groups.set(key, []);
      this.groups.get(key).push(r);
    }
    this.count += records.length;
    this.schedule();
  }

  clear() {
    this.groups.clear();
    this.count = 0;
    for (const {plot} of this.charts.values()) plot.destroy();
    this.charts.clear();
    this.container.replaceChildren();
    this.container.dataset.points = "0";
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    setTimeout(() => { this.pending = false; this.draw(); }, 250);
  }

  // The records a line is drawn from: its epoch records when it has three or more, else its
  // step records (a quick run may be one epoch).
  static shown(records) {
    const epochs = records.filter(r => (r.kind ?? "epoch") === "epoch");
    return epochs.length >= 3 || epochs.length === records.length ? epochs : records.filter(r => r.kind === "step");
  }

  metrics() {
    const names = new Set();
    for (const records of this.groups.values()) {
      for (const r of records) {
        for (const [k, v] of Object.entries(r)) {
          if (!NOT_METRICS.has(k) && typeof v === "number") names.add(k.replace(/^val_/, ""));
        }
      }
    }
    return [...names].sort((a, b) => (a !== "loss") - (b !== "loss") || a.localeCompare(b)).slice(0, this.maxCharts);
  }

  draw() {
    if (typeof uPlot === "undefined") { this.schedule(); return; }
    let points = 0;
    const labels = [...this.groups.keys()];
    for (const metric of this.metrics()) {
      const lines = [];
      labels.forEach((label, i) => {
        const records = Curves.shown(this.groups.get(label));
        for (const prefix of ["", "val_"]) {
          const key = prefix + metric;
          const xy = records.filter(r => typeof r[key] === "number").map(r => [r.step ?? 0, r[key]]);
          if (xy.length) lines.push({label: label + (prefix ? " (validation)" : ""), colour: PALETTE[i % PALETTE.length], dash: !!prefix, xy});
        }
      });
      if (!lines.length) continue;
      const xs = [...new Set(lines.flatMap(l => l.xy.map(p => p[0])))].sort((a, b) => a - b);
      const index = new Map(xs.map((x, i) => [x, i]));
      const data = [xs];
      for (const line of lines) {
        const ys = new Array(xs.length).fill(null);
        for (const [x, y] of line.xy) ys[index.get(x)] = y;
        data.push(ys);
        points += line.xy.length;
      }
      this.plot(metric, lines, data);
    }
    const empty = document.getElementById("charts-empty");
    if (empty && points) empty.remove();
    this.container.dataset.points = String(points);
  }

  plot(metric, lines, data) {
    const signature = lines.map(l => l.label).join("\n");
    const chart = this.charts.get(metric);
    if (chart && chart.signature === signature) {
      chart.plot.setData(data);
      return;
    }
    if (chart) chart.plot.destroy();
    let box = this.container.querySelector(`[data-metric="${CSS.escape(metric)}"]`);
    if (!box) {
      box = document.createElement("div");
      box.className = "chart";
      box.dataset.metric = metric;
      const title = document.createElement("h4");
      title.textContent = metric === "loss" ? "loss (training; validation dashed)" : metric;
      box.append(title);
      this.container.append(box);
    }
    box.querySelector(".uplot")?.remove();
    const width = Math.max(320, box.clientWidth - 12);
    const opts = {
      width, height: 260,
      scales: {x: {time: false}},
      legend: {live: false},
      axes: [{label: "step"}, {label: metric, size: 60}],
      series: [{label: "step"}, ...lines.map(l => ({
        label: l.label, stroke: l.colour, width: 1.6, dash: l.dash ? [6, 4] : undefined,
        spanGaps: true, points: {show: false},
      }))],
    };
    this.charts.set(metric, {plot: new uPlot(opts, data, box), signature});
  }
}

window.Curves = Curves;
