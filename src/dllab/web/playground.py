"""Playground sessions: each browser tab's classifier or GAN trains in a worker thread of the
server, and the tab polls for small JSON frames (the decision surface on a coarse grid, the
samples, the curves) that it draws on canvases several times a second.

Torch runs on one thread here, so that sessions share the cores; at most `MAX_SESSIONS` exist
at once; a session whose tab stops asking for frames pauses after `UNWATCHED_S` seconds, and
stops and goes after `IDLE_S`.
Each training burst lasts `BURST_S`, then a frame is made; between bursts the thread sleeps a
moment so the server's event loop keeps answering.
"""

import json
import secrets
import threading
import time
from dataclasses import asdict

import torch
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dllab.config import apply_overrides, settings_of, type_schema, value_text
from dllab.errors import ConfigError
from dllab.web.playground_train import (
    LIVE,
    MAX_POINTS,
    ClassifierLab,
    ClassifierSettings,
    GanLab,
    GanSettings,
    check_layers,
)

MAX_SESSIONS = 8
UNWATCHED_S = 3.0  # a playing session whose tab stopped asking for frames pauses
IDLE_S = 60.0
BURST_S = 0.05  # training between two looks at the clock
FRAME_S = 0.12  # least time between two frames while playing
KINDS = {"classifier": (ClassifierSettings, ClassifierLab), "gan": (GanSettings, GanLab)}


class Session:
    """One tab's model, its worker thread and its latest frame."""

    def __init__(self, kind: str, settings, custom: list[list[float]] | None = None):
        self.id = secrets.token_urlsafe(12)
        self.kind, self.settings = kind, settings
        self.lab = KINDS[kind][1](settings, custom)
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.playing = False
        self.closed = False
        self.last_seen = time.monotonic()
        self.data_version = 1
        self.step_ms = None  # wall time of one training step, averaged
        self.frame_bytes = b""
        self._frame_number = 0
        with self.lock:
            self._make_frame()
        self.thread = threading.Thread(target=self._loop, name=f"playground-{kind}", daemon=True)
        self.thread.start()

    def _make_frame(self) -> None:
        """Under the lock: the current state as a frame, serialised once."""
        self._frame_number += 1
        frame = {
            "n": self._frame_number,
            "kind": self.kind,
            "playing": self.playing,
            "trainable": self.lab.trainable,
            "data_version": self.data_version,
            "step_ms": None if self.step_ms is None else round(self.step_ms, 3),
            **(self.lab.frame() if self.lab.trainable else {"step": 0}),
        }
        self.frame_bytes = json.dumps(frame, allow_nan=False).encode()

    def _loop(self) -> None:
        last_frame = 0.0
        while not self.closed:
            unseen = time.monotonic() - self.last_seen
            if unseen > IDLE_S:
                self.closed = True
                return
            if self.playing and unseen > UNWATCHED_S:  # its tab left: keep the cores free
                with self.lock:
                    self.playing = False
                    self._make_frame()
            if not self.playing:
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            with self.lock:
                if not (self.playing and self.lab.trainable):
                    continue
                started, steps = time.perf_counter(), 0
                while time.perf_counter() - started < BURST_S:
                    self.lab.train_step()
                    steps += 1
                took = (time.perf_counter() - started) * 1000 / steps
                self.step_ms = took if self.step_ms is None else 0.8 * self.step_ms + 0.2 * took
                if time.monotonic() - last_frame >= FRAME_S:
                    self._make_frame()
                    last_frame = time.monotonic()
            time.sleep(0.004)  # let the event loop in

    def frame(self, data_version: int | None) -> bytes:
        """The latest frame; with the points when the tab's `data_version` is not current."""
        self.last_seen = time.monotonic()
        if data_version == self.data_version:
            return self.frame_bytes
        with self.lock:
            points = json.dumps(self.lab.points())
        return self.frame_bytes[:-1] + b', "points": ' + points.encode() + b"}"

    def control(self, action: str) -> None:
        self.last_seen = time.monotonic()
        with self.lock:
            if action == "play":
                self.playing = True
            elif action == "pause":
                self.playing = False
            elif action == "step":
                self.playing = False
                if self.lab.trainable:
                    self.lab.train_step()
            elif action == "reset":
                self.lab.reset()
            else:
                raise ConfigError(f"unknown action {action!r} (play, pause, step, reset)")
            self._make_frame()
        self.wake.set()

    def change(self, assignments: list[str]) -> tuple[bool, dict[str, str]]:
        """Apply `key=value` settings, each validated as `--set` is; returns (reset, errors).
        A change of a live setting (lr, batch size, L2) keeps training; any other starts over."""
        errors = {}
        for assignment in assignments:
            try:
                checked = apply_overrides(self.settings, [assignment])
                if isinstance(checked, ClassifierSettings):
                    check_layers(checked)
            except ConfigError as error:
                errors[assignment.partition("=")[0]] = str(error)
        if errors:
            return False, errors
        new = apply_overrides(self.settings, assignments)
        changed = {k for k, v in asdict(new).items() if asdict(self.settings)[k] != v}
        with self.lock:
            self.settings = new
            reset = bool(changed - LIVE)
            if reset:
                self.lab.s = new
                self.lab.reset()
                self.data_version += 1
            else:
                self.lab.adjust(new)
            self._make_frame()
        return reset, {}

    def set_points(self, points: list) -> None:
        """The clicked (classifier) or drawn (GAN) points: [[x, y, class], ...]."""
        with self.lock:
            self.lab.custom = points
            self.lab.reset()
            self.data_version += 1
            self._make_frame()

    def close(self) -> None:
        self.closed = True
        self.wake.set()


class Playgrounds:
    """The live sessions, by id."""

    def __init__(self):
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.warming = False  # warm_up started

    @staticmethod
    def schema(kind: str) -> list[dict]:
        """The settings of a playground, as its page's controls are built from them."""
        cls = KINDS[kind][0]
        defaults = asdict(cls())
        return [
            {
                "key": s.key,
                "schema": type_schema(s.hint),
                "default": value_text(defaults[s.key]),
                "bounds": s.bounds,
                "comment": s.comment,
            }
            for s in settings_of(cls)
        ]

    def create(self, kind: str, assignments: list[str]) -> Session:
        """A new session of `kind` with `assignments` over the defaults.

        Raises:
            ConfigError: for an unknown kind, a bad setting, or too many sessions.
        """
        if kind not in KINDS:
            raise ConfigError(f"unknown playground {kind!r} (classifier, gan)")
        settings = apply_overrides(KINDS[kind][0](), assignments)
        if isinstance(settings, ClassifierSettings):
            check_layers(settings)
        with self._lock:
            self.sessions = {k: s for k, s in self.sessions.items() if not s.closed}
            if len(self.sessions) >= MAX_SESSIONS:
                raise ConfigError(
                    f"the playground has {MAX_SESSIONS} sessions open; close a tab and try again"
                )
            torch.set_num_threads(1)
            session = Session(kind, settings)
            self.sessions[session.id] = session
        return session

    @staticmethod
    def warm_up() -> None:
        """Pay torch's first-use costs (its first optimizer imports torch._dynamo, seconds on a
        busy machine) before the first tab asks for a session; the first playground page
        starts it."""
        torch.set_num_threads(1)
        ClassifierLab(ClassifierSettings()).frame()

    def get(self, session_id: str) -> Session | None:
        session = self.sessions.get(session_id)
        return None if session is None or session.closed else session

    def close(self) -> None:
        for session in list(self.sessions.values()):
            session.close()


def _points(value) -> list[list[float]]:
    """[[x, y, class], ...] checked: at most MAX_POINTS, finite numbers, classes 0 and 1."""
    if not isinstance(value, list) or len(value) > MAX_POINTS:
        raise ConfigError(f"points: a list of at most {MAX_POINTS} [x, y, class] triples")
    points = []
    for item in value:
        ok = isinstance(item, list) and len(item) == 3
        ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in item)
        if not ok or not all(abs(v) < 1e6 for v in item) or item[2] not in (0, 1):
            raise ConfigError(f"points: each is [x, y, class] with class 0 or 1, got {item!r}")
        points.append([float(item[0]), float(item[1]), int(item[2])])
    return points


def playground_routes(playgrounds: Playgrounds) -> list[Route]:
    """The JSON API of the playground pages."""

    async def body(request: Request) -> dict:
        try:
            value = json.loads(await request.body())
        except ValueError:
            raise ConfigError("the request body must be a JSON object") from None
        if not isinstance(value, dict):
            raise ConfigError("the request body must be a JSON object")
        return value

    def assignments(values) -> list[str]:
        if not isinstance(values, dict):
            raise ConfigError("settings: an object of key: value")
        return [f"{k}={v}" for k, v in values.items()]

    def state(session: Session, **extra) -> JSONResponse:
        settings = {k: value_text(v) for k, v in asdict(session.settings).items()}
        return JSONResponse({"id": session.id, "settings": settings, **extra})

    def for_session(act):
        """A route acting on one session: 404 for an unknown (or expired) session, 400 with
        the message for bad input."""

        async def handle(request: Request) -> Response:
            session = playgrounds.get(request.path_params.get("sid", ""))
            if session is None and "sid" in request.path_params:
                return JSONResponse({"error": "no such session (it may have expired)"}, 404)
            try:
                return await act(session, request)
            except ConfigError as error:
                return JSONResponse({"error": str(error)}, 400)

        return handle

    @for_session
    async def create(_, request: Request) -> Response:
        values = await body(request)
        kind, settings = str(values.get("kind")), assignments(values.get("settings", {}))
        return state(playgrounds.create(kind, settings))

    @for_session
    async def frame(session: Session, request: Request) -> Response:
        have = request.query_params.get("data", "")
        data = session.frame(int(have) if have.isdigit() else None)
        return Response(data, media_type="application/json", headers={"Cache-Control": "no-store"})

    @for_session
    async def control(session: Session, request: Request) -> Response:
        session.control(str((await body(request)).get("action")))
        return state(session)

    @for_session
    async def settings(session: Session, request: Request) -> Response:
        reset, errors = session.change(assignments((await body(request)).get("settings")))
        if errors:
            return JSONResponse({"errors": errors}, 400)
        return state(session, reset=reset)

    @for_session
    async def points(session: Session, request: Request) -> Response:
        session.set_points(_points((await body(request)).get("points")))
        return state(session)

    return [
        Route("/api/playground", create, methods=["POST"]),
        Route("/api/playground/{sid}/frame", frame),
        Route("/api/playground/{sid}/control", control, methods=["POST"]),
        Route("/api/playground/{sid}/settings", settings, methods=["POST"]),
        Route("/api/playground/{sid}/points", points, methods=["POST"]),
    ]
