"""The web lab as a user meets it: `dllab serve` in its own process, real runs as its child
processes, headless Chromium on its pages, fifty clients on one live stream, a run killed with
SIGKILL and resumed, the server restarted.

`DLLAB_WEB_SCREENSHOTS=docs` makes the browser test also write the README's screenshots there.
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from dllab.web.runs import processes_running  # noqa: E402
from test_browser import browser  # noqa: E402, F401 (a fixture: the page tests' Chromium)

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no chromium/chromedriver here (apt-get install chromium chromium-driver)",
)


@contextmanager
def serve(runs: Path, *flags: str):
    """`dllab serve --port 0` over `runs`: yields (its address, its process); Ctrl-C at the end."""
    log = open(runs.parent / f"serve-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
    command = [sys.executable, "-m", "dllab", "serve", "--port", "0", "--runs", str(runs), *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://\S+/", line)
        assert url, f"dllab serve printed {line!r}"
        yield url.group(0), process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def post(url: str, form: dict | None = None) -> tuple[int, str]:
    """A form POST from the lab's own page; returns (status, Location) without following."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = urllib.parse.urlencode(form or {})
    headers = {
        "Origin": f"{parts.scheme}://{parts.netloc}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    connection.request("POST", parts.path, body, headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.getheader("Location", "")


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_run(url: str, name: str, run_name: str, **settings: str) -> str:
    """Submit experiment `name`'s form with its quick values and `settings`; the run's id."""
    from dllab.web.forms import base_values

    form = {"mode": "quick", "seed": "0", "run_name": run_name, **base_values(name)["quick"]}
    status, location = post(f"{url}experiments/{name}/runs", {**form, **settings})
    assert status == 303, status
    return location.rsplit("/", 1)[1]


def status_of(url: str, run_id: str) -> str:
    return get_json(f"{url}api/runs/{run_id}")["status"]


# ---- faults ----


@pytest.mark.slow
def test_a_run_killed_with_sigkill_shows_interrupted_and_resume_ends_where_it_would_have(
    tmp_path,
):
    runs = tmp_path / "runs"
    num_epochs = 90  # seconds of training: its first checkpoint (after a second) comes early
    with serve(runs, "--workers", "2", "--checkpoint-interval", "1") as (url, _):
        reference = start_run(url, "digits-mlp", "reference", num_epochs=str(num_epochs))
        victim = start_run(url, "digits-mlp", "victim", num_epochs=str(num_epochs))
        pid = wait_for(lambda: _pid_writing(runs / victim), 60, "the victim's process")
        pointer = runs / victim / "checkpoints/digits_mlp/last.json"
        wait_for(pointer.is_file, 240, "the victim's first checkpoint")
        epoch = json.loads(pointer.read_text())["epoch"]
        assert epoch < num_epochs, f"the first checkpoint is the last (epoch {epoch})"  # no kill
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: status_of(url, victim) == "interrupted", 30, "the run to say interrupted")
        page = urllib.request.urlopen(f"{url}runs/{victim}", timeout=30).read().decode()
        assert 'class="badge interrupted">interrupted<' in page
        assert 'id="resume-form">' in page  # shown, not hidden
        assert post(f"{url}runs/{victim}/resume")[0] == 303
        for run_id in (reference, victim):
            wait_for(lambda r=run_id: status_of(url, r) == "ok", 300, f"{run_id} to finish")
        listed = get_json(f"{url}api/runs")
    metrics = [json.loads((runs / r / "metrics.json").read_text()) for r in (reference, victim)]
    assert metrics[0] == metrics[1]
    losses = [
        [(r["step"], r["loss"]) for r in map(json.loads, (runs / r / "history.jsonl").open())]
        for r in (reference, victim)
    ]
    assert losses[0] == losses[1]  # the resumed history is the uninterrupted one
    with serve(runs) as (url, _):  # the server restarted: the same runs, the same states
        assert get_json(f"{url}api/runs") == listed


def _pid_writing(folder: Path) -> int | None:
    """The process of `dllab run ... --out FOLDER` (found by its command line)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                words = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(folder).encode() in words and b"run" in words:
                return int(entry.name)
    return None


# ---- load ----


class StreamClient(threading.Thread):
    """One browser tab's EventSource, as a thread: collects the epochs of every record."""

    def __init__(self, url: str, expected: int):
        super().__init__(daemon=True)
        self.url, self.expected = url, expected
        self.epochs: list[int] = []
        self.error = None

    def run(self):
        parts = urllib.parse.urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            connection.request("GET", parts.path)
            response = connection.getresponse()
            event = None
            while len(self.epochs) < self.expected:
                line = response.fp.readline().decode()
                if not line:
                    break
                if line.startswith("event: "):
                    event = line[7:].strip()
                elif line.startswith("data: ") and event == "records":
                    self.epochs += [r["epoch"] for r in json.loads(line[6:])["records"]]
        except Exception as error:  # reported by the test
            self.error = error
        finally:
            connection.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for memory")
def test_fifty_clients_follow_one_run_for_30_s_and_all_get_every_record_in_order(tmp_path):
    runs = tmp_path / "runs"
    folder = runs / "busy"
    folder.mkdir(parents=True)
    meta = {"experiment": "digits-mlp", "title": "a run writing fast", "status": "running"}
    (folder / "config.json").write_text(json.dumps(meta))
    (folder / "history.jsonl").write_text("")
    seconds, per_tick, tick = 30.0, 4, 0.1
    total = int(seconds / tick) * per_tick
    with serve(runs) as (url, server):
        get_json(f"{url}api/runs")  # the server's first request done: its memory settled
        before = rss_mb(server.pid)
        clients = [StreamClient(f"{url}runs/busy/events", total) for _ in range(50)]
        for client in clients:
            client.start()
        peak, epoch = before, 0
        with open(folder / "history.jsonl", "a") as history:
            started = time.monotonic()
            while epoch < total:
                for _ in range(per_tick):
                    epoch += 1
                    record = {"model": "m", "kind": "epoch", "epoch": epoch, "loss": 1 / epoch}
                    history.write(json.dumps(record) + "\n")
                history.flush()
                peak = max(peak, rss_mb(server.pid))
                time.sleep(max(0.0, started + epoch / per_tick * tick - time.monotonic()))
        for client in clients:
            client.join(30)
        peak = max(peak, rss_mb(server.pid))
    print(f"{total} records to 50 clients; server memory {before:.0f} -> {peak:.0f} MB")
    assert [c.error for c in clients if c.error] == []
    for client in clients:
        assert client.epochs == list(range(1, total + 1))
    assert peak - before < 50, f"the server grew from {before:.0f} MB to {peak:.0f} MB"


# ---- the browser ----


@pytest.fixture
def page(request):
    """The page tests' Chromium (test_browser's `browser`) on a blank page, with no console
    messages left from an earlier test (whose page may go on asking a stopped server)."""
    driver = request.getfixturevalue("browser")
    driver.set_window_size(1400, 1000)
    driver.get("about:blank")
    driver.get_log("browser")
    yield driver
    driver.get("about:blank")


def console_errors(driver) -> list[str]:
    return [m["message"] for m in driver.get_log("browser") if m["level"] == "SEVERE"]


def screenshot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
    driver.save_screenshot(str(path))
    keep = os.environ.get("DLLAB_WEB_SCREENSHOTS")
    if keep:
        shutil.copy(path, Path(keep) / name)
    return path


def js(driver, script: str):
    """The value of `script` in the page; None while the page is not there (reloading)."""
    return driver.execute_script(f"try {{ return {script}; }} catch (e) {{ return null; }}")


@needs_browser
@pytest.mark.slow
def test_from_the_home_page_to_a_live_run_and_its_results_in_a_browser(page, tmp_path):
    driver = page
    from selenium.webdriver.common.by import By

    runs = tmp_path / "runs"
    with serve(runs) as (url, _):
        driver.get(url)
        assert "Syllabus" in driver.title
        driver.find_element(By.CSS_SELECTOR, 'a[href="/experiments/digits-mlp"]').click()
        epochs = driver.find_element(By.ID, "f-num_epochs")
        epochs.clear()
        epochs.send_keys("20")
        driver.find_element(By.ID, "f-batch_size").clear()
        driver.find_element(By.ID, "f-batch_size").send_keys("16")
        assert driver.current_url.endswith("/experiments/digits-mlp?num_epochs=20&batch_size=16")
        assert js(driver, "document.getElementById('command').textContent") == (
            "dllab run digits-mlp --quick --set num_epochs=20 --set batch_size=16"
        )
        assert console_errors(driver) == []
        driver.find_element(By.ID, "start").click()
        wait_for(lambda: "/runs/" in driver.current_url, 30, "the run page")
        points = "Number(document.getElementById('charts').dataset.points)"
        seen = set()

        def finished():
            seen.add(js(driver, points))
            return js(driver, "document.getElementById('status').textContent") == "ok"

        wait_for(finished, 300, "the run to finish", every=0.1)
        growing = sorted(n for n in seen if isinstance(n, int | float) and n > 0)
        assert len(growing) >= 2, f"the curves drew {growing} points: they never grew"
        weights = "document.querySelector('a[href$=\".safetensors\"]').textContent"
        wait_for(lambda: js(driver, weights), 30, "the page of the finished run")  # reloaded
        assert "test_accuracy" in driver.find_element(By.ID, "metrics").text
        images = "Array.from(document.querySelectorAll('#figures img'))"
        wait_for(
            lambda: js(driver, f"{images}.length > 0 && {images}.every(i => i.naturalWidth > 0)"),
            20,
            "every figure drawn",
        )
        finished_curves = f"({points} || 0) > 0"  # the reloaded page draws its whole history
        wait_for(lambda: js(driver, finished_curves), 20, "the finished run's curves")
        assert console_errors(driver) == []
        screenshot(driver, tmp_path, "web-lab-run.png")


@needs_browser
@pytest.mark.slow
def test_the_playgrounds_train_live_in_a_browser(page, tmp_path):
    driver = page
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with serve(tmp_path / "runs") as (url, _):
        driver.get(f"{url}playground")
        units = "document.getElementById('network').dataset.units"
        wait_for(lambda: js(driver, units) == "4,2", 60, "the first frame")
        step = "Number(document.getElementById('step-count').textContent)"
        boundary = "document.getElementById('boundary').toDataURL()"
        lr = driver.find_element(By.ID, "pg-lr")  # a live setting: training goes on with it
        lr.send_keys(Keys.CONTROL, "a")
        lr.send_keys("0.3", Keys.TAB)  # as a person types it: one change event
        driver.find_element(By.ID, "play").click()
        wait_for(lambda: js(driver, step) > 50, 60, "training to start")
        first = js(driver, boundary)
        wait_for(lambda: js(driver, boundary) != first, 30, "the boundary to change")
        loss = "Number(document.getElementById('test-loss').textContent)"
        wait_for(lambda: js(driver, loss) < 0.2, 120, "the circles learnt (test loss < 0.2)")
        before = js(driver, step)
        screenshot(driver, tmp_path, "web-lab-playground.png")
        driver.find_element(By.CSS_SELECTOR, ".units-plus").click()  # layer 1: 4 -> 5 units
        wait_for(lambda: js(driver, units) == "5,2", 30, "the wider network")
        assert js(driver, step) < before  # it started again
        assert console_errors(driver) == []

        driver.get(f"{url}playground/gan")
        wait_for(
            lambda: js(driver, "document.getElementById('modes').textContent") != "—",
            60,
            "a frame",
        )
        driver.find_element(By.ID, "play").click()
        wait_for(lambda: js(driver, step) > 200, 90, "the GAN to train")
        assert re.fullmatch(r"\d+ of 8", js(driver, "document.getElementById('modes').textContent"))
        driver.save_screenshot(str(tmp_path / "web-lab-gan.png"))
        assert console_errors(driver) == []


def test_processes_running_finds_a_run_by_its_folder(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    code = "import time; time.sleep(30)"
    child = subprocess.Popen(
        [sys.executable, "-c", code, "dllab", "run", "x", "--out", str(folder)]
    )
    try:
        assert wait_for(lambda: processes_running(folder), 10, "the process to show")
        assert not processes_running(tmp_path / "other")
    finally:
        child.kill()
        child.wait()
