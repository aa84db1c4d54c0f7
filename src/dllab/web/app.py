"""The web lab's ASGI app: its pages and JSON API over the runs folder and the registry.

Pages: home (the units and their experiments), experiment (its form), run (live), runs,
compare, playground. Every page comes from a Jinja2 template with autoescaping, so no string a
user or a run folder gives reaches the HTML unescaped; data for scripts travels as JSON in
`<script type="application/json">`, and a Content-Security-Policy allows scripts from the
lab's own /static only.
"""

import contextlib
import json
import mimetypes
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from dllab.config import to_dict, value_text
from dllab.errors import ConfigError
from dllab.experiments.catalog import get_experiment, list_experiments
from dllab.experiments.runner import CHECKPOINT_INTERVAL_S
from dllab.experiments.settings import describe
from dllab.syllabus import UNITS, roman
from dllab.web import forms
from dllab.web.live import Hub, record_json
from dllab.web.playground import Playgrounds, playground_routes
from dllab.web.runs import FINAL, Job, RunInfo, RunQueue, RunStore, child_argv, resume_argv
from dllab.web.security import Guard, safe_file

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "—"
    minutes, s = divmod(float(seconds), 60)
    return f"{int(minutes)} min {s:.0f} s" if minutes else f"{s:.1f} s"


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("dllab.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters |= {"number": _number, "duration": _duration, "value_text": value_text}
    env.globals |= {"roman": roman, "units": UNITS}
    return env


class Headers:
    """ASGI middleware: the security headers of every response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


class Lab:
    """The app's state and its request handlers."""

    def __init__(self, runs: Path, workers: int, checkpoint_interval_s: float):
        self.root, self.checkpoint_interval_s = runs, checkpoint_interval_s
        self.queue = RunQueue(workers)
        self.store = RunStore(runs, self.queue)
        self.hub = Hub()
        self.playgrounds = Playgrounds()
        self.env = templates()

    # ---- helpers ----

    def page(self, request: Request, name: str, http_status: int = 200, **context) -> HTMLResponse:
        html = self.env.get_template(name).render(request=request, **context)
        return HTMLResponse(html, http_status)

    def run_or_404(self, request: Request) -> RunInfo:
        info = self.store.info(request.path_params["run_id"])
        if info is None:
            raise HTTPException(404, f"no run {request.path_params['run_id']!r} here")
        return info

    @staticmethod
    async def form(request: Request) -> dict[str, str]:
        """A url-encoded body as a dict (the last value of a repeated key wins: a checkbox
        after its hidden "false")."""
        body = (await request.body()).decode(errors="replace")
        return dict(parse_qsl(body, keep_blank_values=True))

    def status(self, run_id: str) -> tuple[str, dict]:
        """The status a run page shows, and what goes beside it (see `live.Follower`)."""
        info = self.store.info(run_id)
        if info is None:
            return "unknown", {"final": True}
        job = self.queue.jobs.get(run_id)
        active = self.queue.active(run_id) is not None
        saved = info.config.get("status")  # "running" while its process may still write
        gone = job is not None and job.state in ("done", "cancelled") and not saved  # never began
        extra: dict = {"final": (saved in (*FINAL, "interrupted") or gone) and not active}
        extra["resumable"] = info.resumable and not active
        extra["stoppable"] = active and saved not in FINAL  # a finished run is only exiting
        if info.status == "queued":
            extra["position"] = self.queue.position(run_id)
        if info.config.get("error"):
            extra["error"] = info.config["error"]
        elif info.status == "failed" and job is not None and job.stderr:
            extra["error"] = job.stderr.strip().splitlines()[-1]
        if info.status in ("running", "starting"):
            started = info.config.get("part_started")
            earlier = info.config.get("duration_s") or 0
            if isinstance(started, int | float) and isinstance(earlier, int | float):
                extra["elapsed_s"] = round(earlier + time.time() - started, 1)
            expected = self.store.expected_seconds(info)
            if expected is not None:
                extra["expected_s"] = round(expected, 1)
        elif isinstance(info.config.get("duration_s"), int | float):
            extra["elapsed_s"] = info.config["duration_s"]
        return info.status, extra

    # ---- pages ----

    async def home(self, request: Request) -> Response:
        durations = await run_in_threadpool(self.store.durations)
        runs = await run_in_threadpool(self.store.all)
        latest: dict[str, RunInfo] = {}
        for run in runs:  # newest first
            if run.status == "ok" and run.experiment not in latest:
                latest[run.experiment] = run
        units = []
        for unit, title in UNITS.items():
            rows = [
                {
                    "exp": exp,
                    "quick_s": durations.get((exp.name, True)),
                    "full_s": durations.get((exp.name, False)),
                    "latest": latest.get(exp.name),
                }
                for exp in list_experiments(unit)
            ]
            units.append({"number": unit, "title": title, "rows": rows})
        return self.page(request, "home.html", units=units, recent=runs[:6])

    async def experiment(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            get_experiment(name)
        except ConfigError:
            raise HTTPException(404, f"no experiment {name!r}") from None
        form = dict(request.query_params)
        return self._experiment_page(request, forms.read(name, form, require_all=False))

    def _experiment_page(self, request: Request, sub: forms.Submission, status: int = 200):
        description = describe(sub.name)
        runs = [run for run in self.store.all() if run.experiment == sub.name][:10]
        command = ["dllab", "run", sub.name] + ([f"--{sub.mode}"] if sub.mode != "full" else [])
        command += [f"--seed {sub.seed}"] if sub.seed else []
        command += [f"--set {o}" for o in sub.overrides]
        return self.page(
            request,
            "experiment.html",
            status,
            d=description,
            sub=sub,
            modes=forms.MODES,
            available_modes=[m for m in forms.MODES if m != "showcase" or description["in_tour"]],
            mode_text=forms.MODE_TEXT,
            runs=runs,
            command=" ".join(command),
            query=urlencode(sub.query()),
        )

    async def start(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            get_experiment(name)
        except ConfigError:
            raise HTTPException(404, f"no experiment {name!r}") from None
        sub = forms.read(name, await self.form(request), require_all=True)
        if sub.run_name and (self.root / sub.run_name).exists():
            sub.errors["run_name"] = f"a run folder {sub.run_name!r} exists already"
        if not sub.ok:
            return self._experiment_page(request, sub, 400)
        folder = self.store.new_folder(name, sub.run_name)
        argv = child_argv(
            folder, name, sub.mode, sub.seed, sub.overrides, self.checkpoint_interval_s
        )
        self.queue.submit(Job(folder.name, folder, argv))
        return RedirectResponse(f"/runs/{folder.name}", 303)

    async def runs(self, request: Request) -> Response:
        chosen = request.query_params.get("experiment", "")
        runs = await run_in_threadpool(self.store.all)
        if chosen:
            runs = [run for run in runs if run.experiment == chosen]
        return self.page(request, "runs.html", runs=runs, chosen=chosen)

    async def run(self, request: Request) -> Response:
        info = self.run_or_404(request)
        status, extra = self.status(info.id)
        checkpoints = info.folder / "checkpoints"
        models = sorted(
            p.name for p in checkpoints.glob("*") if (p / "last.json").is_file()
        ) if checkpoints.is_dir() else []  # fmt: skip
        settings = _flatten(info.config.get("config") or {})
        boot = {"id": info.id, "status": status, **extra}
        return self.page(
            request,
            "run.html",
            run=info,
            status=status,
            extra=extra,
            models=models,
            settings=settings,
            references=info.config.get("references") or {},
            claims=[c for c in info.config.get("claims") or [] if isinstance(c, dict)],
            boot=boot,
            command=_command(info),
        )

    async def events(self, request: Request) -> Response:
        info = self.run_or_404(request)
        start = request.headers.get("last-event-id") or request.query_params.get("from") or "0"
        start = int(start) if start.isdigit() else 0
        follower = self.hub.follow(info.folder, lambda: self.status(info.id))
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        stream = follower.stream(start)
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    async def file(self, request: Request) -> Response:
        info = self.run_or_404(request)
        path = safe_file(info.folder, request.path_params["path"])
        if path is None:
            raise HTTPException(404, "no such file in this run folder")
        # one read, not FileResponse's stat then open: a run replaces its figures by renaming
        # a new file over the old, which could be sent under the old one's Content-Length
        content = await run_in_threadpool(path.read_bytes)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Response(content, media_type=media_type, headers={"Cache-Control": "no-cache"})

    async def weights(self, request: Request) -> Response:
        info = self.run_or_404(request)
        model = request.path_params["model"]
        pointer = safe_file(info.folder, f"checkpoints/{model}/last.json")
        saved = json.loads(pointer.read_text()) if pointer is not None else {}
        inner = saved.get("folder") if isinstance(saved, dict) else None
        path = safe_file(info.folder, f"checkpoints/{model}/{inner}/model.safetensors") if (
            isinstance(inner, str)
        ) else None  # fmt: skip
        if path is None:
            raise HTTPException(404, f"no saved weights of {model!r} in this run")
        return FileResponse(path, filename=f"{info.id}-{model}.safetensors")

    async def download(self, request: Request) -> Response:
        info = self.run_or_404(request)
        archive = await run_in_threadpool(_zip_folder, info.folder)

        def chunks():
            with archive:
                archive.seek(0)
                while block := archive.read(1 << 16):
                    yield block

        disposition = f'attachment; filename="{info.id}.zip"'
        return StreamingResponse(
            chunks(), media_type="application/zip", headers={"Content-Disposition": disposition}
        )

    async def stop(self, request: Request) -> Response:
        info = self.run_or_404(request)
        if not self.queue.stop(info.id):
            raise HTTPException(409, "this run is not running or waiting: nothing to stop")
        return RedirectResponse(f"/runs/{info.id}", 303)

    async def resume(self, request: Request) -> Response:
        info = self.run_or_404(request)
        if not info.resumable or self.queue.active(info.id) is not None:
            raise HTTPException(409, f"this run is {info.status}: there is nothing to resume")
        argv = resume_argv(info.folder, info.experiment, self.checkpoint_interval_s)
        self.queue.submit(Job(info.id, info.folder, argv))
        return RedirectResponse(f"/runs/{info.id}", 303)

    async def compare(self, request: Request) -> Response:
        ids = list(dict.fromkeys(request.query_params.getlist("run")))
        runs = [self.store.info(run_id) for run_id in ids]
        missing = [run_id for run_id, run in zip(ids, runs) if run is None]
        if missing:
            raise HTTPException(404, f"no run {missing[0]!r} here")
        if len(runs) < 2:
            raise HTTPException(400, "choose two or more runs to compare")
        flat = [dict(_flatten(run.config.get("config") or {})) for run in runs]
        keys = list(dict.fromkeys(k for f in flat for k in f))
        rows = [(k, [f.get(k) for f in flat]) for k in keys]
        differ = [(k, values) for k, values in rows if len({json.dumps(v) for v in values}) > 1]
        metric_names = list(dict.fromkeys(m for run in runs for m in run.metrics))
        experiments = {run.experiment for run in runs}
        return self.page(
            request,
            "compare.html",
            runs=runs,
            differ=differ,
            same=[(k, values[0]) for k, values in rows if (k, values) not in differ],
            metric_names=metric_names,
            mixed=len(experiments) > 1,
            boot={"runs": [{"id": run.id, "label": run.id} for run in runs]},
        )

    async def playground(self, request: Request) -> Response:
        kind = request.path_params.get("kind", "classifier")
        if kind not in ("classifier", "gan"):
            raise HTTPException(404, f"no playground {kind!r}")
        lab_warm_up(self.playgrounds)
        schema = Playgrounds.schema(kind)
        by_key = {s["key"]: s for s in schema}
        return self.page(request, "playground.html", kind=kind, schema=schema, by_key=by_key)

    # ---- JSON ----

    async def api_experiments(self, request: Request) -> Response:
        rows = [
            {"name": e.name, "unit": e.unit, "title": e.title, "topics": list(e.topics)}
            for e in list_experiments()
        ]
        return JSONResponse(rows)

    async def api_experiment(self, request: Request) -> Response:
        try:
            return JSONResponse(describe(request.path_params["name"]))
        except ConfigError as error:
            raise HTTPException(404, str(error)) from None

    async def api_runs(self, request: Request) -> Response:
        runs = await run_in_threadpool(self.store.all)
        return JSONResponse([_summary(run) for run in runs])

    async def api_run(self, request: Request) -> Response:
        info = self.run_or_404(request)
        status, extra = self.status(info.id)
        return JSONResponse({**_summary(info), "status": status, **extra})

    async def api_history(self, request: Request) -> Response:
        info = self.run_or_404(request)
        path = safe_file(info.folder, "history.jsonl")
        text = path.read_text(encoding="utf-8", errors="replace") if path else ""
        records = [r for r in map(record_json, text.encode().splitlines()) if r is not None]
        return Response(f"[{', '.join(records)}]", media_type="application/json")

    async def not_found(self, request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, exc.status_code)
        return self.page(
            request, "error.html", exc.status_code, code=exc.status_code, message=exc.detail
        )


def lab_warm_up(playgrounds: Playgrounds) -> None:
    """Warm torch up in a thread when a playground page is first asked for, so that its first
    session starts at once (a server that only runs experiments never pays for it)."""
    if not playgrounds.warming:
        playgrounds.warming = True
        threading.Thread(target=playgrounds.warm_up, name="warm-up", daemon=True).start()


def _flatten(values: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for key, value in values.items():
        if isinstance(value, dict):
            out += _flatten(value, f"{prefix}{key}.")
        else:
            out.append((prefix + key, value))
    return out


def _summary(run: RunInfo) -> dict:
    return {
        "id": run.id,
        "experiment": run.experiment,
        "title": run.title,
        "status": run.status,
        "quick": run.config.get("quick"),
        "seed": run.config.get("seed"),
        "started": run.started,
        "duration_s": run.config.get("duration_s"),
        "metrics": run.metrics,
    }


def _command(run: RunInfo) -> str:
    """The CLI command that makes this run again."""
    c = run.config
    parts = ["dllab", "run", run.experiment or "?"]
    parts += ["--quick"] if c.get("quick") else []
    parts += [f"--seed {c['seed']}"] if c.get("seed") else []
    try:
        exp = get_experiment(run.experiment)
    except ConfigError:
        return " ".join(parts)
    base = dict(_flatten(to_dict(exp.quick_config() if c.get("quick") else exp.default_config())))
    for key, value in _flatten(c.get("config") or {}):
        if base.get(key) != value:
            parts.append(f"--set {key}={value_text(value)}")
    return " ".join(parts)


def _zip_folder(folder: Path):
    """The run folder as a zip in a temporary file (symlinks and hidden temporaries left out)."""
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (the response that sends it closes it)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if any(p.startswith(".") for p in relative.parts) or path.is_symlink():
                continue
            if path.is_file():
                z.write(path, Path(folder.name) / relative)
    return archive


def create_app(
    runs: Path,
    token: str | None = None,
    workers: int = 1,
    loopback_only: bool = True,
    checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
) -> Starlette:
    """The web lab over the run folders in `runs` (see the module docstring).

    Args:
        token: required on every request when given.
        workers: runs at once; the others wait in the queue.
        loopback_only: it listens on the loopback: refuse other Host headers.
        checkpoint_interval_s: least seconds between two checkpoints of a run it starts
            (`dllab run --checkpoint-interval`): what an interrupted run resumes from.
    """
    lab = Lab(Path(runs), workers, checkpoint_interval_s)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        lab.playgrounds.close()
        await run_in_threadpool(lab.queue.close)

    routes = [
        Route("/", lab.home),
        Route("/experiments/{name}", lab.experiment),
        Route("/experiments/{name}/runs", lab.start, methods=["POST"]),
        Route("/runs", lab.runs),
        Route("/runs/{run_id}", lab.run),
        Route("/runs/{run_id}/events", lab.events),
        Route("/runs/{run_id}/files/{path:path}", lab.file),
        Route("/runs/{run_id}/weights/{model}.safetensors", lab.weights),
        Route("/runs/{run_id}/download.zip", lab.download),
        Route("/runs/{run_id}/stop", lab.stop, methods=["POST"]),
        Route("/runs/{run_id}/resume", lab.resume, methods=["POST"]),
        Route("/compare", lab.compare),
        Route("/playground", lab.playground),
        Route("/playground/{kind}", lab.playground),
        Route("/api/experiments", lab.api_experiments),
        Route("/api/experiments/{name}", lab.api_experiment),
        Route("/api/runs", lab.api_runs),
        Route("/api/runs/{run_id}", lab.api_run),
        Route("/api/runs/{run_id}/history", lab.api_history),
        *playground_routes(lab.playgrounds),
        Mount("/static", StaticFiles(packages=[("dllab.web", "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(Headers),
            Middleware(Guard, token=token, loopback_only=loopback_only),
        ],
        exception_handlers={HTTPException: lab.not_found},
        lifespan=lifespan,
    )
    app.state.lab = lab
    return app
