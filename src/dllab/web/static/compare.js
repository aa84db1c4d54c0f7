// The compare page: every run's history, overlaid (one colour per run).
"use strict";

(async () => {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const curves = new Curves(document.getElementById("charts"));
  for (const run of boot.runs) {
    const response = await fetch(`/api/runs/${encodeURIComponent(run.id)}/history`);
    if (response.ok) curves.add(await response.json(), run.label);
  }
})();
