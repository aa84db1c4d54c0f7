"""Figures and HTML pages as pure functions of a run folder's saved files.

`plots` draws figures from arrays and history records; `html.render(run_dir)` writes a run's
report.html and `html.render_index(run_dirs, out_path)` the page over many runs (the tour).
"""

from dllab.report.html import read_run, render, render_index

__all__ = ["read_run", "render", "render_index"]
