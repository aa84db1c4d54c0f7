// A run's page, live: curves, status, figures and final metrics from the run's event stream.
"use strict";

(() => {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const references = JSON.parse(document.getElementById("references").textContent);
  const base = `/runs/${encodeURIComponent(boot.id)}`;
  const curves = new Curves(document.getElementById("charts"));
  const $ = id => document.getElementById(id);

  function seconds(s) {
    if (typeof s !== "number") return "";
    return s < 60 ? `${s.toFixed(0)} s` : `${Math.floor(s / 60)} min ${(s % 60).toFixed(0)} s`;
  }

  function showStatus(st) {
    const badge = $("status");
    badge.textContent = st.status;
    badge.className = `badge ${st.status}`;
    const active = ["running", "starting", "queued"].includes(st.status);
    $("progress").hidden = !active;
    let text = "";
    if (st.status === "queued") text = `waiting: number ${st.position ?? "?"} in the queue`;
    else if (st.status === "interrupted") text = "interrupted: the process that ran it is gone or was stopped; Resume continues from its last checkpoint";
    else if (active && typeof st.elapsed_s === "number") {
      text = `${seconds(st.elapsed_s)}`;
      if (typeof st.expected_s === "number") {
        const left = Math.max(0, st.expected_s - st.elapsed_s);
        text += ` · about ${seconds(left)} left (earlier runs of these settings took ${seconds(st.expected_s)})`;
        $("progress-bar").style.width = `${Math.min(99, 100 * st.elapsed_s / st.expected_s)}%`;
      }
    } else if (typeof st.elapsed_s === "number") text = `took ${seconds(st.elapsed_s)}`;
    $("progress-text").textContent = text;
    if (st.status === "ok") $("progress-bar").style.width = "100%";
    $("stop-form").hidden = !st.stoppable;
    $("resume-form").hidden = !st.resumable;
    $("run-error").hidden = !st.error;
    $("run-error").textContent = st.error ? `Run failed: ${st.error}` : "";
  }

  function caption(path) {
    const name = path.split("/").pop().replace(/\.[a-z]+$/, "").replace(/[_-]/g, " ");
    return name.charAt(0).toUpperCase() + name.slice(1);
  }

  function showFigures(items) {
    const box = $("figures");
    if (items.length) $("figures-empty")?.remove();
    for (const {path, version} of items) {
      const src = `${base}/files/${path.split("/").map(encodeURIComponent).join("/")}?v=${version}`;
      let fig = box.querySelector(`figure[data-path="${CSS.escape(path)}"]`);
      if (!fig) {
        fig = document.createElement("figure");
        fig.dataset.path = path;
        const link = document.createElement("a");
        const img = document.createElement("img");
        img.alt = caption(path);
        link.append(img);
        const cap = document.createElement("figcaption");
        cap.textContent = caption(path);
        fig.append(link, cap);
        if (path.startsWith("report_figures/")) box.prepend(fig); else box.append(fig);
      }
      const img = fig.querySelector("img");
      if (img.getAttribute("src") !== src) {
        img.src = src;
        fig.querySelector("a").href = src;
      }
    }
  }

  function number(v) {
    if (typeof v !== "number") return v === null || v === undefined ? "—" : String(v);
    return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+(e|$)/, "$1");
  }

  function showMetrics(metrics) {
    const names = Object.keys(metrics);
    if (!names.length) return;
    const hasRefs = Object.keys(references).length > 0;
    const table = document.createElement("table");
    table.className = "metrics";
    const head = table.createTHead().insertRow();
    for (const h of ["metric", "this run", ...(hasRefs ? ["published", "source"] : [])]) {
      const th = document.createElement("th");
      th.textContent = h;
      head.append(th);
    }
    const body = table.createTBody();
    for (const name of [...names, ...Object.keys(references).filter(n => !(n in metrics))]) {
      const row = body.insertRow();
      const code = document.createElement("code");
      code.textContent = name;
      row.insertCell().append(code);
      const value = row.insertCell();
      value.className = "num";
      value.textContent = number(metrics[name]);
      if (hasRefs) {
        const ref = references[name];
        const pub = row.insertCell();
        pub.className = "num";
        pub.textContent = ref ? number(ref.value) : "";
        row.insertCell().textContent = ref ? ref.source : "";
      }
    }
    $("metrics").replaceChildren(table);
  }

  const events = new EventSource(`${base}/events`);
  events.addEventListener("records", e => curves.add(JSON.parse(e.data).records));
  events.addEventListener("reset", () => curves.clear());
  events.addEventListener("status", e => showStatus(JSON.parse(e.data)));
  events.addEventListener("figures", e => showFigures(JSON.parse(e.data)));
  events.addEventListener("metrics", e => showMetrics(JSON.parse(e.data)));
  events.addEventListener("end", () => {
    events.close();
    // a run watched while it trained: the page again, with what only the end brings (the
    // lessons it shows, the weights, the report)
    if (["running", "starting", "queued"].includes(boot.status)) location.reload();
  });
})();
