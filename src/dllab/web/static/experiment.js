// The experiment page: the address follows the form (the mode, the seed and every changed
// setting), so that a link reproduces the settings; a setting the mode leaves unchanged
// follows the mode.
"use strict";

(() => {
  const form = document.getElementById("experiment-form");
  const rows = [...form.querySelectorAll("tr.field")];
  const mode = () => form.querySelector("input[name=mode]:checked")?.value ?? "quick";
  let previous = mode();

  function input(row) { return row.querySelector("[name]:not([type=hidden])"); }
  function value(row) {
    const el = input(row);
    return el.type === "checkbox" ? (el.checked ? "true" : "false") : el.value;
  }
  function setValue(row, v) {
    const el = input(row);
    if (el.type === "checkbox") el.checked = v === "true"; else el.value = v;
  }

  function update() {
    const m = mode();
    if (m !== previous) {
      for (const row of rows) {
        if (value(row) === row.dataset[previous] && row.dataset[m] !== undefined) setValue(row, row.dataset[m]);
      }
      previous = m;
    }
    const params = new URLSearchParams();
    if (m !== "quick") params.set("mode", m);
    const seed = form.elements.seed.value.trim();
    if (seed && seed !== "0") params.set("seed", seed);
    const sets = [];
    for (const row of rows) {
      const changed = value(row) !== row.dataset[m];
      row.classList.toggle("changed", changed);
      if (changed) {
        params.set(row.dataset.key, value(row));
        sets.push(`--set ${row.dataset.key}=${value(row)}`);
      }
    }
    const query = params.toString();
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
    document.getElementById("permalink").href = query ? `?${query}` : location.pathname;
    const name = location.pathname.split("/").pop();
    const flags = [m === "full" ? "" : `--${m}`, seed && seed !== "0" ? `--seed ${seed}` : "", ...sets];
    document.getElementById("command").textContent = ["dllab run", decodeURIComponent(name), ...flags].filter(Boolean).join(" ");
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
