"""Live runs: Server-Sent Events fed by tailing a run folder's files.

One `Follower` per followed run polls its folder four times a second: new lines of
history.jsonl, config.json's status, figures as they are written, metrics.json when it appears.
What it reads becomes SSE messages, formatted once and kept in order; every client of that run
(one browser tab or fifty) walks the same list with its own index, so clients cost a cursor,
not a file reader or a copy. A follower nobody has watched for a minute stops.

Events: `records` (data {"start": i, "records": [...]}, id = the index after the last record:
a client that reconnects with Last-Event-ID gets the rest), `reset` (history.jsonl was cut back
by a resumed run: start over), `status`, `figures`, `metrics`, and `end` when the run is over.
"""

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

POLL_S = 0.25
IDLE_S = 60.0  # a follower without clients stops after this
KEEPALIVE_S = 15.0
FIGURE_SUFFIXES = (".png", ".gif")


def sse(event: str, data: str, event_id: int | None = None) -> str:
    """One SSE message; `data` is one line of JSON."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


class Follower:
    """The shared tail of one run folder (see the module docstring).

    Args:
        status: () -> (status, extra): the run's status as the lab sees it (queued,
            interrupted...) and what the page shows beside it (progress, ETA, error).
    """

    def __init__(self, folder: Path, status: Callable[[], tuple[str, dict]]):
        self.folder, self._status = folder, status
        self.chunks: list[tuple[int, int, str]] = []  # (start, end, message) of records
        self.count = 0  # records read
        self.generation = 0  # bumped by a reset
        self.status_message = ""
        self.figures_message = ""
        self.metrics_message = ""
        self.ended = False
        self.version = 0  # bumped whenever anything above changes
        self.clients = 0
        self.last_client = time.monotonic()
        self._offset = 0
        self._partial = b""
        self._last_line = b""
        self._seen: dict[str, float] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll_forever())

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def _poll_forever(self) -> None:
        while True:
            if self.poll():
                async with self._changed:
                    self.version += 1
                    self._changed.notify_all()
            if self.clients == 0 and time.monotonic() - self.last_client > IDLE_S:
                return
            await asyncio.sleep(POLL_S)

    def poll(self) -> bool:
        """Read what changed on disk; True when there is something new to send."""
        changed = self._read_history()
        status, extra = self._status()
        message = sse("status", json.dumps({"status": status, **extra}))
        if message != self.status_message:
            self.status_message, changed = message, True
        changed |= self._read_figures()
        changed |= self._read_metrics()
        if not self.ended and extra.get("final"):
            self.ended, changed = True, True
        return changed

    def _read_history(self) -> bool:
        path = self.folder / "history.jsonl"
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        cut = size < self._offset or not self._still_there(path)
        if cut:
            self._reset()
        if size == self._offset:
            return cut
        with open(path, "rb") as f:
            f.seek(self._offset)
            data = self._partial + f.read(size - self._offset)
        self._offset = size
        *lines, self._partial = data.split(b"\n")
        records = [line.strip() for line in lines if line.strip()]
        good = [text for text in map(record_json, records) if text is not None]
        if records:
            self._last_line = lines[-1] + b"\n"
        if not good:
            return cut
        start = self.count
        self.count += len(good)
        data_json = f'{{"start": {start}, "records": [{", ".join(good)}]}}'
        self.chunks.append((start, self.count, sse("records", data_json, self.count)))
        return True

    def _still_there(self, path: Path) -> bool:
        """Whether the last line read is still where it was (a resumed run cuts the file back
        and writes it again, possibly longer than before)."""
        if not self._last_line or self._offset == 0:
            return True
        end = self._offset - len(self._partial)
        try:
            with open(path, "rb") as f:
                f.seek(end - len(self._last_line))
                return f.read(len(self._last_line)) == self._last_line
        except OSError:
            return False

    def _reset(self) -> None:
        self.chunks, self.count = [], 0
        self._offset, self._partial, self._last_line = 0, b"", b""
        self.generation += 1

    def _read_figures(self) -> bool:
        figures = {}
        for sub in ("report_figures", "figures"):
            try:
                entries = sorted((self.folder / sub).iterdir())
            except OSError:
                continue
            for path in entries:
                if path.suffix in FIGURE_SUFFIXES and not path.name.startswith("."):
                    try:
                        figures[f"{sub}/{path.name}"] = path.stat().st_mtime
                    except OSError:
                        continue
        if figures == self._seen:
            return False
        self._seen = figures
        items = [{"path": p, "version": int(m)} for p, m in figures.items()]
        self.figures_message = sse("figures", json.dumps(items))
        return True

    def _read_metrics(self) -> bool:
        if self.metrics_message:
            return False
        try:
            metrics = json.loads((self.folder / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        self.metrics_message = sse("metrics", json.dumps(metrics))
        return True

    async def stream(self, start: int = 0) -> AsyncIterator[str]:
        """Every message for one client, from record `start` on, until the run ends."""
        self.clients += 1
        try:
            sent_status = sent_figures = sent_metrics = ""
            generation, index = self.generation, start
            while True:
                if generation != self.generation:
                    generation, index = self.generation, 0
                    yield sse("reset", "{}")
                out = []
                for chunk_start, end, message in self.chunks:
                    if end <= index:
                        continue
                    if chunk_start < index:  # a reconnect in the middle of a chunk
                        message = self._tail_of(chunk_start, end, index, message)
                    out.append(message)
                    index = end
                for current, sent in (
                    (self.status_message, sent_status),
                    (self.figures_message, sent_figures),
                    (self.metrics_message, sent_metrics),
                ):
                    if current and current != sent:
                        out.append(current)
                sent_status, sent_figures = self.status_message, self.figures_message
                sent_metrics = self.metrics_message
                if out:
                    yield "".join(out)
                if self.ended:
                    yield sse("end", "{}")
                    return
                if not await self._wait(self.version):
                    yield ": keep-alive\n\n"
        finally:
            self.clients -= 1
            self.last_client = time.monotonic()

    async def _wait(self, seen: int) -> bool:
        """Wait until something changes after version `seen`; False after KEEPALIVE_S."""
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version != seen), KEEPALIVE_S
                )
            except TimeoutError:
                return False
        return True

    @staticmethod
    def _tail_of(start: int, end: int, index: int, message: str) -> str:
        data = json.loads(message.split("data: ", 1)[1])
        rest = [json.dumps(r) for r in data["records"][index - start :]]
        return sse("records", f'{{"start": {index}, "records": [{", ".join(rest)}]}}', end)


def record_json(line: bytes) -> str | None:
    """A history line as JSON a browser parses (NaN and infinities, which Python writes and
    JSON lacks, become null); None for a line that is not a JSON object."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    if b"NaN" not in line and b"Infinity" not in line:
        return line.decode()
    clean = {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()
    }
    return json.dumps(clean)


class Hub:
    """The followers of all runs: one per run folder, created on its first client."""

    def __init__(self):
        self.followers: dict[Path, Follower] = {}

    def follow(self, folder: Path, status: Callable[[], tuple[str, dict]]) -> Follower:
        follower = self.followers.get(folder)
        if follower is None or follower.done:
            follower = Follower(folder, status)
            self.followers[folder] = follower
        follower.last_client = time.monotonic()
        follower.start()
        return follower
