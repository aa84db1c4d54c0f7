"""The web lab (`dllab serve`): every experiment of the syllabus live in the browser, and a
playground where a 2-D classifier and a 2-D GAN train as you watch.

- `app`: the pages and the JSON API (Starlette, Jinja2 templates with autoescaping);
- `forms`: an experiment's form, built from `dllab show NAME --json` and read back through
  the validation of `--set`;
- `runs`: the runs folder, and the queue that runs experiments as `dllab run` child processes;
- `live`: Server-Sent Events fed by tailing a run folder's files, one reader per run;
- `playground`, `playground_train`: the playground's sessions (a worker thread each) and what
  they train;
- `security`: the token, same-origin POSTs, the Host check and safe file paths;
- `server`: `dllab serve` itself (uvicorn).

Importing this package does no work; `dllab serve` imports it only when it is asked for.
"""
