// The playground page: a session trains in the server; this page sends the settings and the
// play / pause / step / reset buttons, polls for frames and draws them on canvases.
"use strict";

(() => {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const kind = boot.kind;
  const $ = id => document.getElementById(id);
  const BLUE = [8, 119, 189], ORANGE = [245, 147, 34], WHITE = [255, 255, 255];
  const GREEN = [46, 125, 50], PURPLE = [123, 31, 162];
  let session = null, dataVersion = null, points = null, frame = null, playing = false;
  let custom = [];  // clicked or drawn points [x, y, class]

  // ---- talking to the server ----

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    });
    return {ok: response.ok, data: await response.json()};
  }

  function formSettings() {
    const values = {};
    for (const el of document.querySelectorAll(".pg-control [name]")) values[el.name] = el.value;
    return values;
  }

  function showErrors(errors) {
    for (const box of document.querySelectorAll(".pg-control .field-error")) {
      const key = box.id.replace("err-pg-", "");
      box.hidden = !(errors && errors[key]);
      box.textContent = errors && errors[key] ? errors[key] : "";
    }
  }

  function showError(text) {
    $("pg-error").hidden = !text;
    $("pg-error").textContent = text || "";
  }

  async function start() {
    const {ok, data} = await post("/api/playground", {kind, settings: formSettings()});
    if (!ok) { showError(data.error); return; }
    showError("");
    session = data.id;
    dataVersion = null;
    if (custom.length) await post(`/api/playground/${session}/points`, {points: custom});
    if (playing) await post(`/api/playground/${session}/control`, {action: "play"});
  }

  async function poll() {
    if (session) {
      try {
        const query = dataVersion === null ? "" : `?data=${dataVersion}`;
        const response = await fetch(`/api/playground/${session}/frame${query}`, {cache: "no-store"});
        if (response.status === 404) {
          await start();  // the session expired while the tab slept
        } else if (response.ok) {
          const next = await response.json();
          if (next.points) { points = next.points; dataVersion = next.data_version; }
          if (!frame || next.n !== frame.n || next.points) draw(next);
          frame = next;
        }
      } catch (error) {
        showError("The lab does not answer; is `dllab serve` still running?");
      }
    }
    setTimeout(poll, document.hidden ? 1000 : playing ? 100 : 300);
  }

  async function control(action) {
    if (!session) return;
    const {ok, data} = await post(`/api/playground/${session}/control`, {action});
    if (!ok) showError(data.error);
  }

  async function change(key, value) {
    if (!session) return;
    const settings = {[key]: value};
    const {ok, data} = await post(`/api/playground/${session}/settings`, {settings});
    showErrors(ok ? null : data.errors);
    if (!ok && data.error) showError(data.error);
    if (ok) syncCustomHelp();
  }

  function setPlaying(on) {
    playing = on;
    $("play").textContent = on ? "❚❚ Pause" : "▶ Play";
    $("play").setAttribute("aria-label", on ? "pause" : "play");
    control(on ? "play" : "pause");
  }

  // ---- drawing ----

  function mix(a, b, t) { return a.map((v, i) => Math.round(v + (b[i] - v) * t)); }

  // A GRID x GRID surface of 0..255 values as a small image, smoothed when drawn larger.
  function surfaceImage(values, colour) {
    const n = Math.round(Math.sqrt(values.length));
    const small = document.createElement("canvas");
    small.width = small.height = n;
    const ctx = small.getContext("2d");
    const image = ctx.createImageData(n, n);
    values.forEach((v, i) => {
      const [r, g, b] = colour(v / 255);
      image.data.set([r, g, b, 255], 4 * i);
    });
    ctx.putImageData(image, 0, 0);
    return small;
  }

  function twoClass(p) {  // p(class 1): orange (0) through white to blue (1), softened
    const t = 2 * p - 1;
    return mix(WHITE, t > 0 ? BLUE : ORANGE, Math.min(1, Math.abs(t)) * 0.8);
  }

  function toPixel(canvas, extent, x, y) {
    const [x0, x1, y0, y1] = extent;
    return [(x - x0) / (x1 - x0) * canvas.width, (y1 - y) / (y1 - y0) * canvas.height];
  }

  function fromPixel(canvas, extent, event) {
    const box = canvas.getBoundingClientRect();
    const [x0, x1, y0, y1] = extent;
    const px = (event.clientX - box.left) / box.width, py = (event.clientY - box.top) / box.height;
    return [x0 + px * (x1 - x0), y1 - py * (y1 - y0)];
  }

  function curve(canvas, xs, lines) {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const values = lines.flatMap(l => l.ys.filter(v => v !== null && isFinite(v)));
    if (xs.length < 2 || !values.length) return;
    const lo = Math.min(0, ...values), hi = Math.max(...values) || 1;
    const x0 = xs[0], x1 = xs[xs.length - 1] || 1;
    for (const {ys, colour} of lines) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ys.forEach((y, i) => {
        if (y === null) return;
        const px = (xs[i] - x0) / Math.max(1, x1 - x0) * (canvas.width - 4) + 2;
        const py = canvas.height - 3 - (y - lo) / (hi - lo) * (canvas.height - 8);
        i ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
      });
      ctx.stroke();
    }
  }

  function fixed(v, digits = 3) { return typeof v === "number" ? v.toFixed(digits) : "—"; }

  function drawCommon(f) {
    $("step-count").textContent = f.step ?? 0;
    $("speed").textContent = typeof f.step_ms === "number" ? `${f.step_ms.toFixed(2)} ms a step` : "—";
    if (f.playing !== playing) {  // another tab, or the server, changed it
      playing = f.playing;
      $("play").textContent = playing ? "❚❚ Pause" : "▶ Play";
    }
    $("pg-status").textContent = f.trainable ? "" :
      kind === "gan" ? "Draw some points on the plane to train on." : "Click on the plane to add points of both colours.";
  }

  // ---- the classifier ----

  function drawClassifier(f) {
    drawCommon(f);
    if ($("epoch")) $("epoch").textContent = f.epoch ?? 0;
    $("train-loss").textContent = fixed(f.train_loss);
    $("test-loss").textContent = fixed(f.test_loss);
    const canvas = $("boundary"), ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const surface = f.surface ? surfaceImage(f.surface, twoClass) : null;
    if (surface) ctx.drawImage(surface, 0, 0, canvas.width, canvas.height);
    if (points) {
      const sets = [["train", "#fff"], ...($("show-test").checked ? [["test", "#000"]] : [])];
      for (const [name, edge] of sets) {
        for (const [x, y, c] of points[name]) {
          const [px, py] = toPixel(canvas, points.extent, x, y);
          ctx.beginPath();
          ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
          ctx.fillStyle = `rgb(${(c ? BLUE : ORANGE).join(",")})`;
          ctx.fill();
          ctx.strokeStyle = edge;
          ctx.lineWidth = 1;
          ctx.stroke();
        }
      }
    }
    if (f.curve) {
      curve($("loss-curve"), f.curve.step, [
        {ys: f.curve.train, colour: "#333"}, {ys: f.curve.test, colour: "#f59322"},
      ]);
    }
    drawNetwork(f, surface);
  }

  function drawNetwork(f, surface) {
    const canvas = $("network"), ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const hidden = (f.units || []).map(layer => layer.length);
    canvas.dataset.units = hidden.join(",");
    $("layer-count").textContent = hidden.length;
    const columns = [2, ...hidden, 1];
    const tile = 30, gap = 38;
    const step = (canvas.width - tile - 8) / (columns.length - 1);
    unitButtons(hidden, c => (4 + c * step + tile / 2) * canvas.clientWidth / canvas.width);
    const at = (c, u) => [4 + c * step, 8 + (u + (8 - columns[c]) / 2) * gap];  // centred
    (f.weights || []).forEach((matrix, layer) => {
      matrix.forEach((row, j) => row.forEach((w, i) => {
        const [xa, ya] = at(layer, i), [xb, yb] = at(layer + 1, j);
        ctx.strokeStyle = `rgba(${(w > 0 ? BLUE : ORANGE).join(",")},${Math.min(1, 0.25 + Math.abs(w) / 2)})`;
        ctx.lineWidth = Math.min(5, 0.4 + Math.abs(w) * 1.4);
        ctx.beginPath();
        ctx.moveTo(xa + tile, ya + tile / 2);
        ctx.lineTo(xb, yb + tile / 2);
        ctx.stroke();
      }));
    });
    const unitColour = v => mix(WHITE, v > 0 ? BLUE : ORANGE, Math.min(1, Math.abs(2 * v - 1)));
    const inputs = [0, 1].map(axis => {
      const n = 16, values = [];
      for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) values.push(255 * (axis ? (n - 1 - r) / (n - 1) : c / (n - 1)));
      return surfaceImage(values, unitColour);
    });
    const tiles = [inputs, ...(f.units || []).map(layer => layer.map(unit => surfaceImage(unit.map(v => (v + 100) * 255 / 200), unitColour))), [surface]];
    tiles.forEach((column, c) => column.forEach((image, u) => {
      const [x, y] = at(c, u);
      if (image) ctx.drawImage(image, x, y, tile, tile);
      ctx.strokeStyle = "#777";
      ctx.lineWidth = 1;
      ctx.strokeRect(x, y, tile, tile);
    }));
    ctx.fillStyle = "#333";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText("x₁", 6, at(0, 0)[1] + tile + 11);
    ctx.fillText("x₂", 6, at(0, 1)[1] + tile + 11);
  }

  function unitButtons(hidden, left) {  // left(column) -> its centre in CSS pixels
    const box = $("unit-buttons");
    const shape = `${hidden.join(",")}@${$("network").clientWidth}`;
    if (box.dataset.shape === shape) return;
    box.dataset.shape = shape;
    box.replaceChildren(...hidden.map((n, layer) => {
      const cell = document.createElement("div");
      const minus = document.createElement("button"), plus = document.createElement("button");
      minus.type = plus.type = "button";
      minus.textContent = "−";
      plus.textContent = "+";
      minus.className = "units-minus";
      plus.className = "units-plus";
      minus.setAttribute("aria-label", `fewer units in layer ${layer + 1}`);
      plus.setAttribute("aria-label", `more units in layer ${layer + 1}`);
      minus.addEventListener("click", () => setUnits(layer, n - 1));
      plus.addEventListener("click", () => setUnits(layer, n + 1));
      cell.append(minus, ` ${n} `, plus);
      cell.style.left = `${left(layer + 1)}px`;
      return cell;
    }));
  }

  function hiddenField() {
    const text = $("pg-num_hiddens").value.replace(/[()\s]/g, "");
    return text ? text.split(",").filter(Boolean).map(Number) : [];
  }

  function setHidden(units) {
    const text = units.length ? `(${units.join(",")}${units.length === 1 ? "," : ""})` : "()";
    $("pg-num_hiddens").value = text;
    change("num_hiddens", text);
  }

  function setUnits(layer, n) {
    const units = hiddenField();
    units[layer] = Math.max(1, Math.min(8, n));
    setHidden(units);
  }

  // ---- the GAN ----

  function drawGan(f) {
    drawCommon(f);
    const canvas = $("gan-plane"), ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (f.surface) {
      const surface = surfaceImage(f.surface, p => mix(WHITE, p > 0.5 ? GREEN : PURPLE, Math.abs(2 * p - 1) * 0.55));
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(surface, 0, 0, canvas.width, canvas.height);
    }
    const extent = points ? points.extent : [-3, 3, -3, 3];
    const dot = (x, y, colour, r) => {
      const [px, py] = toPixel(canvas, extent, x, y);
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.fillStyle = colour;
      ctx.fill();
    };
    if (points) for (const [x, y] of points.real) dot(x, y, "rgba(46,125,50,0.35)", 2);
    for (const [x, y] of f.samples || []) dot(x, y, "rgba(123,31,162,0.85)", 2.2);
    ctx.strokeStyle = "rgba(60,60,60,0.75)";
    ctx.lineWidth = 1;
    for (const [x, y, dx, dy] of f.arrows || []) {
      const [px, py] = toPixel(canvas, extent, x, y);
      ctx.beginPath();
      ctx.moveTo(px, py);
      ctx.lineTo(px + dx * 28, py - dy * 28);
      ctx.stroke();
    }
    if (kind === "gan" && custom.length && !f.trainable) {
      for (const [x, y] of custom) dot(x, y, "rgba(46,125,50,0.6)", 2);
    }
    const cover = f.coverage;
    $("modes").textContent = cover ? `${cover.modes_captured} of ${cover.num_modes}` : "—";
    $("quality").textContent = cover ? `${(100 * cover.high_quality_fraction).toFixed(1)}%` : "—";
    $("d-name").textContent = f.loss_name || "discriminator";
    if (f.curve) {
      curve($("loss-curve"), f.curve.step, [
        {ys: f.curve.d, colour: "#333"}, {ys: f.curve.g, colour: "#f59322"},
      ]);
    }
  }

  function draw(f) { (kind === "gan" ? drawGan : drawClassifier)(f); }

  // ---- input ----

  function syncCustomHelp() {
    const data = $("pg-data").value;
    $("custom-help").hidden = !(data === "custom" || data === "drawn");
  }

  async function sendPoints() {
    if (session) await post(`/api/playground/${session}/points`, {points: custom});
  }

  for (const el of document.querySelectorAll(".pg-control [name]")) {
    el.addEventListener("change", () => change(el.name, el.value));
    const out = $(`out-${el.name}`);
    if (out) el.addEventListener("input", () => { out.textContent = el.value; });
  }
  $("play").addEventListener("click", () => setPlaying(!playing));
  $("step").addEventListener("click", () => { setPlaying(false); control("step"); });
  $("reset").addEventListener("click", () => control("reset"));
  $("clear-points").addEventListener("click", () => { custom = []; sendPoints(); });

  if (kind === "classifier") {
    $("layers-plus").addEventListener("click", () => {
      const units = hiddenField();
      if (units.length < 6) setHidden([...units, 2]);
    });
    $("layers-minus").addEventListener("click", () => setHidden(hiddenField().slice(0, -1)));
    $("show-test").addEventListener("change", () => frame && drawClassifier(frame));
    const plane = $("boundary");
    plane.addEventListener("contextmenu", e => e.preventDefault());
    plane.addEventListener("mousedown", e => {
      if ($("pg-data").value !== "custom" || !points) return;
      const [x, y] = fromPixel(plane, points.extent, e);
      custom.push([x, y, e.shiftKey || e.button === 2 ? 0 : 1]);
      sendPoints();
    });
  } else {
    const plane = $("gan-plane");
    let drawing = false, last = null;
    const add = e => {
      if ($("pg-data").value !== "drawn") return;
      const extent = points ? points.extent : [-3, 3, -3, 3];
      const [x, y] = fromPixel(plane, extent, e);
      if (last && Math.hypot(x - last[0], y - last[1]) < 0.05) return;
      last = [x, y];
      if (custom.length < 2000) custom.push([x, y, 0]);
      if (frame) drawGan(frame);
    };
    plane.addEventListener("mousedown", e => { drawing = true; add(e); });
    plane.addEventListener("mousemove", e => { if (drawing) add(e); });
    window.addEventListener("mouseup", () => {
      if (drawing) { drawing = false; last = null; sendPoints(); }
    });
  }

  syncCustomHelp();
  start().then(poll);
})();
