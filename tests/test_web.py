"""The web lab in-process (Starlette's test client): pages, forms, the JSON API, live streams,
the run queue's bookkeeping and the security checks. No child process runs here (the queue's
submit is recorded instead); tests/test_web_runs.py starts real ones."""

import json
import os
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from dllab.experiments import list_experiments  # noqa: E402
from dllab.experiments.settings import describe  # noqa: E402
from dllab.web import forms  # noqa: E402
from dllab.web.app import create_app  # noqa: E402
from dllab.web.live import Follower  # noqa: E402
from dllab.web.runs import RunQueue, RunStore  # noqa: E402
from dllab.web.security import safe_file  # noqa: E402

BASE = "http://127.0.0.1:8765"
SAME_ORIGIN = {"origin": BASE}
EVIL = "<script>alert(1)</script>"


def fake_run(root: Path, name: str, status: str = "ok", **config) -> Path:
    """A run folder as `dllab run` leaves it: config.json, metrics, history, a figure."""
    folder = root / name
    (folder / "figures").mkdir(parents=True)
    meta = {
        "experiment": "digits-mlp",
        "unit": 1,
        "title": "A deep feed-forward classifier on the 8x8 digits",
        "quick": True,
        "seed": 0,
        "started": "2026-12-01T10:00:00",
        "status": status,
        "duration_s": 4.0,
        "config": {"num_epochs": 15, "batch_size": 64, "lr": 0.002, "dropout": 0.1},
        "headline": ["test_accuracy"],
        **config,
    }
    (folder / "config.json").write_text(json.dumps(meta))
    if status == "ok":
        (folder / "metrics.json").write_text(json.dumps({"test_accuracy": 0.95}))
    records = [
        {"model": "m", "kind": "epoch", "epoch": e, "step": 10 * e, "loss": 1 / e}
        for e in (1, 2, 3)
    ]
    (folder / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "figures" / "curves.png").write_bytes(b"\x89PNG fake")
    return folder


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """(client, app, runs root, submitted jobs): the app over an empty runs folder, whose
    queue records what it is asked to run instead of running it."""
    root = tmp_path / "runs"
    root.mkdir()
    submitted = []
    monkeypatch.setattr(RunQueue, "submit", lambda self, job: submitted.append(job) or job)
    app = create_app(root)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield client, app, root, submitted


def errors_in(page: str) -> dict[str, str]:
    """The error shown beside each field: input id -> message (unescaped)."""
    import html

    found = re.findall(r'<div class="field-error" id="err-([^"]+)">([^<]*)</div>', page)
    return {key: html.unescape(message) for key, message in found}


# ---- pages ----


def test_the_home_page_lists_every_unit_and_experiment_with_links(lab):
    client, *_ = lab
    page = client.get("/").text
    for unit in ("Unit I ·", "Unit II ·", "Unit III ·", "Unit IV ·", "Unit V ·"):
        assert unit in page
    for exp in list_experiments():
        assert f'href="/experiments/{exp.name}"' in page


def test_the_home_page_shows_earlier_run_times_and_the_latest_headline(lab):
    client, _, root, _ = lab
    fake_run(root, "digits-mlp-a", duration_s=3.0)
    fake_run(root, "digits-mlp-b", duration_s=5.0)
    page = client.get("/").text
    row = page[page.index('href="/experiments/digits-mlp"') :].split("</tr>")[0]
    assert "4.0 s" in row  # the median of 3 s and 5 s, for quick runs
    assert "<code>test_accuracy</code> 0.95" in row


def test_the_experiment_form_has_a_field_per_setting_of_dllab_show(lab):
    client, *_ = lab
    page = client.get("/experiments/gan-2d").text
    settings = describe("gan-2d")["settings"]
    for s in settings:
        assert f'name="{s["key"]}"' in page
    assert '<select id="f-method" name="method">' in page  # a choice is a select
    assert 'type="checkbox" id="f-compare"' in page  # a bool is a checkbox
    assert "PacGAN degree m" in page  # the field's comment


def test_the_page_address_holds_the_changed_settings_and_fills_the_form(lab):
    client, *_ = lab
    page = client.get("/experiments/gan-2d?mode=showcase&seed=3&lr=0.01&data.name=grid25").text
    assert 'id="f-lr" name="lr" value="0.01"' in page
    assert '<option value="grid25" selected>' in page
    assert 'id="f-seed" name="seed" value="3"' in page
    assert 'value="showcase" checked' in page
    assert "dllab run gan-2d --showcase --seed 3 --set data.name=grid25 --set lr=0.01" in page


def test_a_bad_value_in_the_address_is_shown_beside_its_field(lab):
    client, *_ = lab
    response = client.get("/experiments/digits-mlp?lr=-1")
    assert response.status_code == 200
    assert errors_in(response.text) == {"f-lr": "--set lr: must be > 0, got -1.0"}


@pytest.mark.parametrize("path", ["/experiments/nope", "/runs/nope", "/nope", "/playground/x"])
def test_unknown_pages_are_404_pages(lab, path):
    client, *_ = lab
    response = client.get(path)
    assert response.status_code == 404
    assert "<h1>404 · not found</h1>" in response.text


def test_unknown_things_in_the_api_are_404_json(lab):
    client, *_ = lab
    assert client.get("/api/experiments/nope").status_code == 404
    response = client.get("/api/runs/nope")
    assert response.status_code == 404 and "nope" in response.json()["error"]


def test_the_api_lists_experiments_and_runs(lab):
    client, _, root, _ = lab
    fake_run(root, "a")
    names = [e["name"] for e in client.get("/api/experiments").json()]
    assert names == [e.name for e in list_experiments()]
    assert client.get("/api/experiments/backprop").json() == describe("backprop")
    (run,) = client.get("/api/runs").json()
    assert run["id"] == "a" and run["status"] == "ok" and run["metrics"] == {"test_accuracy": 0.95}


def test_a_run_page_shows_metrics_figures_and_downloads(lab):
    client, _, root, _ = lab
    fake_run(root, "r1", references={"test_accuracy": {"value": 0.97, "source": "a paper"}})
    page = client.get("/runs/r1").text
    assert "0.97" in page and "a paper" in page
    assert "/runs/r1/download.zip" in page
    assert client.get("/runs/r1/files/figures/curves.png").content == b"\x89PNG fake"
    archive = client.get("/runs/r1/download.zip")
    assert archive.headers["content-type"] == "application/zip"
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "r1/config.json" in names and "r1/figures/curves.png" in names


def test_compare_shows_the_settings_that_differ_and_metrics_side_by_side(lab):
    client, _, root, _ = lab
    fake_run(root, "a")
    fake_run(root, "b", config={"num_epochs": 30, "batch_size": 64, "lr": 0.002, "dropout": 0.1})
    page = client.get("/compare?run=a&run=b").text
    differ = page.split("Settings that differ")[1].split("</table>")[0]
    assert "num_epochs" in differ and "<td>15</td>" in differ and "<td>30</td>" in differ
    assert "lr" not in differ.replace("<code>num_epochs", "")  # shared settings are apart
    assert client.get("/compare?run=a").status_code == 400
    assert client.get("/compare?run=a&run=zz").status_code == 404


def test_the_history_api_gives_every_record_with_nan_as_null(lab):
    client, _, root, _ = lab
    folder = fake_run(root, "a")
    with open(folder / "history.jsonl", "a") as f:
        f.write('{"model": "m", "kind": "epoch", "epoch": 4, "step": 40, "loss": NaN}\n')
    records = client.get("/api/runs/a/history").json()
    assert [r["epoch"] for r in records] == [1, 2, 3, 4] and records[-1]["loss"] is None


# ---- forms: every field given bad input ----


def bad_values(setting: dict) -> dict[str, str]:
    """Out of range, wrong type and missing values for one setting (those its type has)."""
    schema, bounds = setting["schema"], setting["bounds"]
    kind = schema["kind"]
    bad = {}
    if bounds:
        name, limit = next(iter(bounds.items()))
        outside = limit - 1 if name in ("ge", "gt") else limit + 1
        if kind == "tuple":
            bad["out of range"] = f"({int(outside)},)"
        else:
            bad["out of range"] = str(int(outside) if kind == "int" else outside)
    item = schema["items"]["kind"] if kind == "tuple" else kind
    wrong = {"int": "abc", "float": "abc", "bool": "maybe", "choice": "no-such-choice"}
    if item in wrong:  # a string takes any text
        bad["wrong type"] = wrong[item]
    if kind == "tuple":
        bad["malformed"] = "(8,"
    return bad


def valid_form(name: str, mode: str = "quick") -> dict[str, str]:
    return {
        "mode": mode,
        "seed": "0",
        **forms.base_values(name)[mode],
    }


# experiments whose settings hold every kind of field: choices, bools, ints, floats, nested
# keys (gan-2d), tuples (degradation), strings and optional strings (cifar10-cnn, sentiment)
FORM_EXPERIMENTS = ("gan-2d", "degradation", "cifar10-cnn", "sentiment")


@pytest.mark.parametrize("name", FORM_EXPERIMENTS)
def test_every_field_given_bad_input_shows_the_error_beside_it_and_starts_nothing(lab, name):
    client, _, root, submitted = lab
    checked = 0
    for setting in describe(name)["settings"]:
        field_id = "f-" + setting["key"].replace(".", "-")
        for what, value in bad_values(setting).items():
            form = {**valid_form(name), setting["key"]: value}
            response = client.post(f"/experiments/{name}/runs", data=form, headers=SAME_ORIGIN)
            assert response.status_code == 400, (setting["key"], what)
            errors = errors_in(response.text)
            assert list(errors) == [field_id], (setting["key"], what, errors)
            assert setting["key"] in errors[field_id], errors  # the validator's own message
            checked += 1
        missing = valid_form(name)
        del missing[setting["key"]]
        response = client.post(f"/experiments/{name}/runs", data=missing, headers=SAME_ORIGIN)
        assert response.status_code == 400
        assert "missing" in errors_in(response.text)[field_id]
        checked += 1
    assert checked > len(describe(name)["settings"])
    assert submitted == [] and list(root.iterdir()) == []  # nothing started, no folder made


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("seed", "-1", "--seed must be from 0 to 2**64 - 1, got -1"),
        ("seed", str(2**64), f"--seed must be from 0 to 2**64 - 1, got {2**64}"),
        ("seed", "x", "--seed: expected an integer, got 'x'"),
        ("mode", "huge", "mode must be one of quick, full, got 'huge'"),
        ("run_name", "../x", "a folder name of letters"),
        ("run_name", EVIL, "a folder name of letters"),
    ],
)
def test_the_run_options_given_bad_input_show_the_error_and_start_nothing(lab, key, value, message):
    client, _, root, submitted = lab
    form = {**valid_form("digits-mlp"), key: value}
    response = client.post("/experiments/digits-mlp/runs", data=form, headers=SAME_ORIGIN)
    assert response.status_code == 400
    errors = errors_in(response.text)
    assert list(errors) == [key if key != "mode" else "mode"] and message in errors[key]
    assert EVIL not in response.text
    assert submitted == [] and list(root.iterdir()) == []


def test_a_valid_form_queues_the_cli_command_with_only_the_changed_settings(lab):
    client, _, root, submitted = lab
    form = {**valid_form("gan-2d", "showcase"), "lr": "0.002", "seed": "7", "run_name": "mine"}
    response = client.post("/experiments/gan-2d/runs", data=form, headers=SAME_ORIGIN)
    assert response.status_code == 303 and response.headers["location"] == "/runs/mine"
    (job,) = submitted
    assert job.folder == root / "mine" and job.folder.is_dir()
    assert job.argv[1:] == [
        "-m", "dllab", "run", "gan-2d", "--checkpoint-interval", "10", "--out", str(root / "mine"),
        "--quiet", "--seed", "7", "--showcase", "--set", "lr=0.002",
    ]  # fmt: skip
    again = client.post("/experiments/gan-2d/runs", data=form, headers=SAME_ORIGIN)
    assert "exists already" in errors_in(again.text)["run_name"]


# ---- runs: status, queue, restart ----


def test_a_run_left_running_by_a_dead_process_shows_as_interrupted_with_resume(lab):
    client, _, root, submitted = lab
    fake_run(root, "killed", status="running", part_started=0)
    assert client.get("/api/runs/killed").json()["status"] == "interrupted"
    page = client.get("/runs/killed").text
    assert '<form method="post" action="/runs/killed/resume" id="resume-form">' in page
    response = client.post("/runs/killed/resume", headers=SAME_ORIGIN)
    assert response.status_code == 303
    (job,) = submitted
    assert job.argv[-6:] == [
        "digits-mlp", "--checkpoint-interval", "10", "--resume", str(root / "killed"), "--quiet"
    ]  # fmt: skip


def test_a_finished_run_cannot_be_resumed_or_stopped(lab):
    client, _, root, submitted = lab
    fake_run(root, "done")
    assert client.post("/runs/done/resume", headers=SAME_ORIGIN).status_code == 409
    assert client.post("/runs/done/stop", headers=SAME_ORIGIN).status_code == 409
    assert submitted == []


def test_a_restarted_server_lists_the_same_runs(tmp_path):
    root = tmp_path / "runs"
    fake_run(root, "a")
    fake_run(root, "b", status="running")
    fake_run(root / "tour-1", "vae")
    lists = []
    for _ in range(2):
        with TestClient(create_app(root), base_url=BASE) as client:
            lists.append(client.get("/api/runs").json())
    assert lists[0] == lists[1]
    assert sorted(r["id"] for r in lists[0]) == ["a", "b", "tour-1~vae"]
    assert {r["id"]: r["status"] for r in lists[0]}["b"] == "interrupted"


def test_a_waiting_run_can_be_cancelled_and_its_empty_folder_goes(tmp_path):
    queue = RunQueue(workers=0)  # nothing takes jobs: they wait
    store = RunStore(tmp_path, queue)
    from dllab.web.runs import Job

    folder = store.new_folder("backprop")
    queue.submit(Job(folder.name, folder, ["true"]))
    assert store.info(folder.name).status == "queued" and queue.position(folder.name) == 1
    assert queue.stop(folder.name)
    assert not folder.exists() and queue.jobs[folder.name].state == "cancelled"


# ---- live streams ----


def test_a_follower_sends_every_record_once_in_order_and_starts_over_after_a_cut(tmp_path):
    folder = fake_run(tmp_path, "r", status="running")
    follower = Follower(folder, lambda: ("running", {"final": False}))
    assert follower.poll()
    history = folder / "history.jsonl"
    with open(history, "a") as f:
        f.write('{"model": "m", "kind": "epoch", "epoch": 4, "step": 40, "loss": 0.2}\n{"mo')
    follower.poll()
    with open(history, "a") as f:
        f.write('del": "m", "kind": "epoch", "epoch": 5, "step": 50, "loss": 0.1}\n')
    follower.poll()
    records = [
        r for _, _, m in follower.chunks for r in json.loads(m.split("data: ")[1])["records"]
    ]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5]
    assert [(a, b) for a, b, _ in follower.chunks] == [(0, 3), (3, 4), (4, 5)]
    # a resumed run cuts the file back to its checkpoint and writes on: the same length again
    lines = history.read_text().splitlines()
    history.write_text("\n".join(lines[:2] + [lines[2].replace("0.333", "0.999")] * 3) + "\n")
    assert follower.poll() and follower.generation == 1
    assert follower.count == 5 and follower.chunks[0][:2] == (0, 5)


def test_the_event_stream_of_a_finished_run_sends_everything_then_ends(lab):
    client, _, root, _ = lab
    fake_run(root, "a")
    with client.stream("GET", "/runs/a/events") as response:
        text = "".join(response.iter_text())
    events = re.findall(r"event: (\w+)\ndata: (.*)\n", text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "records" and kinds[-1] == "end"
    assert {"status", "figures", "metrics"} <= set(kinds)
    data = dict(events)
    assert [r["epoch"] for r in json.loads(data["records"])["records"]] == [1, 2, 3]
    assert json.loads(data["status"])["status"] == "ok"
    assert json.loads(data["metrics"]) == {"test_accuracy": 0.95}
    assert json.loads(data["figures"])[0]["path"] == "figures/curves.png"


def test_a_client_reconnecting_with_last_event_id_gets_only_the_rest(lab):
    client, _, root, _ = lab
    fake_run(root, "a")
    headers = {"last-event-id": "2"}
    with client.stream("GET", "/runs/a/events", headers=headers) as response:
        text = "".join(response.iter_text())
    data = json.loads(re.search(r"event: records\ndata: (.*)\n", text).group(1))
    assert data["start"] == 2 and [r["epoch"] for r in data["records"]] == [3]


# ---- security ----


def test_a_post_without_the_labs_origin_is_refused(lab):
    client, _, root, submitted = lab
    fake_run(root, "x", status="running", part_started=0)
    form = valid_form("backprop")
    for headers in ({}, {"origin": "http://evil.example"}, {"referer": "http://evil.example/"}):
        response = client.post("/experiments/backprop/runs", data=form, headers=headers)
        assert response.status_code == 403
        assert client.post("/runs/x/resume", headers=headers).status_code == 403
        response = client.post("/api/playground", json={"kind": "gan"}, headers=headers)
        assert response.status_code == 403
    assert client.post("/runs/x/resume", headers={"referer": f"{BASE}/runs/x"}).status_code == 303
    assert len(submitted) == 1


def test_a_host_header_other_than_the_loopback_is_refused(lab):
    client, *_ = lab
    assert client.get("/", headers={"host": "attacker.example:8765"}).status_code == 421
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200


def test_with_a_token_every_request_without_it_is_refused(tmp_path):
    app = create_app(tmp_path, token="s3cret-token", loopback_only=False)
    with TestClient(app, base_url="http://10.1.2.3:8765") as client:
        for path in ("/", "/api/runs", "/static/style.css", "/playground", "/nope"):
            assert client.get(path).status_code == 401
        assert client.get("/?token=wrong").status_code == 401
        assert client.get("/", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
        opened = client.get("/runs?token=s3cret-token", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/runs"
        assert "HttpOnly" in opened.headers["set-cookie"]
        assert client.get("/api/runs").status_code == 200  # the cookie carries it now


PATH_ATTACKS = [
    "../config.json",
    "..%2fconfig.json",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "figures/../../other/config.json",
    "figures%2f..%2f..%2fother%2fconfig.json",
    "%2fetc%2fpasswd",
    "//etc/passwd",
    "..%5c..%5cother%5cconfig.json",
    "outside-link",
    "outside-dir/passwd",
    "figures/%00.png",
]


@pytest.mark.parametrize("attack", PATH_ATTACKS)
def test_files_outside_the_run_folder_are_refused(lab, attack):
    client, _, root, _ = lab
    folder = fake_run(root, "a")
    fake_run(root, "other")
    secret = root.parent / "secret"
    secret.mkdir()
    (secret / "passwd").write_text("secret")
    os.symlink(secret / "passwd", folder / "outside-link")
    os.symlink(secret, folder / "outside-dir")
    response = client.get(f"/runs/a/files/{attack}")
    assert response.status_code == 404
    assert "secret" not in response.text and "other" not in response.text.split("<h1>")[0]


def test_safe_file_keeps_paths_inside_the_folder(tmp_path):
    folder = fake_run(tmp_path, "a")
    os.symlink(folder / "config.json", folder / "inside-link")
    assert safe_file(folder, "figures/curves.png") == (folder / "figures/curves.png").resolve()
    assert safe_file(folder, "inside-link") == (folder / "config.json").resolve()
    for bad in ("", "/etc/passwd", "../a/config.json", "figures/../config.json", "a\\b", "."):
        assert safe_file(folder, bad) is None, bad
    assert safe_file(folder, "figures") is None  # a folder, not a file


def test_a_run_id_cannot_reach_outside_the_runs_folder(lab):
    client, _, root, _ = lab
    fake_run(root.parent, "outside")
    os.symlink(root.parent / "outside", root / "linked")
    for run_id in ("%2e%2e", "..~outside", "linked", ".hidden", "%2fetc"):
        assert client.get(f"/runs/{run_id}").status_code == 404, run_id
        assert client.get(f"/api/runs/{run_id}/history").status_code == 404, run_id


def test_user_strings_are_escaped_on_every_page(lab):
    client, _, root, _ = lab
    name = "<script>alert(1)"  # a run folder made by hand (a folder name cannot hold '/')
    config = {"num_epochs": 15, "data": {"dir": EVIL}}
    fake_run(root, name, title=EVIL, error=EVIL, config=config, status="failed")
    fake_run(root, "plain", config={"num_epochs": 15, "data": {"dir": "x"}})
    pages = [
        client.get("/").text,
        client.get("/runs").text,
        client.get(f"/runs/{name}").text,
        client.get(f"/compare?run={name}&run=plain").text,
        client.get(f"/experiments/cifar10-cnn?data.dir={EVIL}").text,
        client.get(f"/runs/{EVIL}").text,  # the 404 page names the run
    ]
    for page in pages:
        assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[2]
    assert "&lt;script&gt;alert(1)" in pages[1]


def test_every_page_forbids_scripts_from_elsewhere(lab):
    client, *_ = lab
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy


# ---- the playground ----


def test_playground_sessions_train_step_by_step_and_reset_on_a_new_network(lab):
    client, *_ = lab
    created = client.post("/api/playground", json={"kind": "classifier"}, headers=SAME_ORIGIN)
    sid = created.json()["id"]
    first = client.get(f"/api/playground/{sid}/frame").json()
    assert first["step"] == 0 and len(first["surface"]) == 40 * 40 and first["points"]["train"]
    assert [len(layer) for layer in first["units"]] == [4, 2]
    for _ in range(3):
        client.post(f"/api/playground/{sid}/control", json={"action": "step"}, headers=SAME_ORIGIN)
    frame = client.get(f"/api/playground/{sid}/frame?data=1").json()
    assert frame["step"] == 3 and "points" not in frame  # the tab has this data already
    assert frame["surface"] != first["surface"]
    live = {"settings": {"lr": "0.1"}}
    changed = client.post(f"/api/playground/{sid}/settings", json=live, headers=SAME_ORIGIN)
    assert changed.json()["reset"] is False
    assert client.get(f"/api/playground/{sid}/frame").json()["step"] == 3
    wider = {"settings": {"num_hiddens": "(5,2)"}}
    changed = client.post(f"/api/playground/{sid}/settings", json=wider, headers=SAME_ORIGIN)
    assert changed.json()["reset"] is True
    frame = client.get(f"/api/playground/{sid}/frame").json()
    assert frame["step"] == 0 and [len(layer) for layer in frame["units"]] == [5, 2]


def test_playground_settings_are_validated_as_set_is(lab):
    client, *_ = lab
    sid = client.post("/api/playground", json={"kind": "gan"}, headers=SAME_ORIGIN).json()["id"]
    bad = {"settings": {"lr": "-1", "method": "magic", "batch_size": "x"}}
    response = client.post(f"/api/playground/{sid}/settings", json=bad, headers=SAME_ORIGIN)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["lr"] == "--set lr: must be > 0, got -1.0"
    assert "magic" in errors["method"] and errors["batch_size"].startswith("--set batch_size")
    layers = {"kind": "classifier", "settings": {"num_hiddens": "(1,1,1,1,1,1,1)"}}
    response = client.post("/api/playground", json=layers, headers=SAME_ORIGIN)
    assert response.status_code == 400 and "at most 6 hidden layers" in response.json()["error"]


def test_the_gan_playground_counts_modes_and_trains_on_drawn_points(lab):
    client, *_ = lab
    new = {"kind": "gan", "settings": {"method": "pacgan"}}
    sid = client.post("/api/playground", json=new, headers=SAME_ORIGIN).json()["id"]
    client.post(f"/api/playground/{sid}/control", json={"action": "step"}, headers=SAME_ORIGIN)
    frame = client.get(f"/api/playground/{sid}/frame").json()
    assert frame["step"] == 1 and frame["coverage"]["num_modes"] == 8
    assert len(frame["samples"]) == 512 and len(frame["arrows"]) == 96
    assert all(abs(dx) <= 1 and abs(dy) <= 1 for *_, dx, dy in frame["arrows"])
    drawn = {"settings": {"data": "drawn"}}
    client.post(f"/api/playground/{sid}/settings", json=drawn, headers=SAME_ORIGIN)
    assert client.get(f"/api/playground/{sid}/frame").json()["trainable"] is False
    points = {"points": [[x / 10, 1.0, 0] for x in range(10)]}
    client.post(f"/api/playground/{sid}/points", json=points, headers=SAME_ORIGIN)
    frame = client.get(f"/api/playground/{sid}/frame").json()
    assert frame["trainable"] is True and "coverage" not in frame
    bad = {"points": [[0, "x", 0]]}
    response = client.post(f"/api/playground/{sid}/points", json=bad, headers=SAME_ORIGIN)
    assert response.status_code == 400


def test_an_idle_playground_session_stops_and_goes(lab, monkeypatch):
    from dllab.web import playground

    client, *_ = lab
    monkeypatch.setattr(playground, "IDLE_S", 0.0)
    sid = client.post("/api/playground", json={"kind": "classifier"}, headers=SAME_ORIGIN)
    sid = sid.json()["id"]
    session = client.app.state.lab.playgrounds.sessions[sid]
    session.wake.set()
    session.thread.join(5)
    assert not session.thread.is_alive()
    assert client.get(f"/api/playground/{sid}/frame").status_code == 404


def test_no_experiment_setting_is_named_like_a_run_option():
    """The page address puts settings beside `mode` and `seed`: no setting may take those names."""
    keys = {s["key"] for e in list_experiments() for s in describe(e.name)["settings"]}
    assert keys.isdisjoint(forms.RESERVED)


def test_serving_without_the_web_extra_says_how_to_install_it(monkeypatch, capsys):
    import importlib.util

    from dllab.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "uvicorn" else real(name)
    )
    assert main(["serve"]) == 2
    assert "dllab serve needs the web extra (uvicorn missing)" in capsys.readouterr().err


def test_the_labs_runs_checkpoint_as_often_as_serve_was_told(tmp_path):
    from dllab.cli import build_parser
    from dllab.web.runs import child_argv, resume_argv

    argv = child_argv(tmp_path / "r", "xor", "quick", 3, ["lr=0.1"], checkpoint_interval_s=2.5)
    args = build_parser().parse_args(argv[3:])  # after `python -m dllab`
    assert (args.checkpoint_interval, args.seed, args.quick) == (2.5, 3, True)
    resumed = build_parser().parse_args(resume_argv(tmp_path / "r", "xor", 2.5)[3:])
    assert (resumed.checkpoint_interval, resumed.resume) == (2.5, str(tmp_path / "r"))


def test_serve_refuses_a_negative_checkpoint_interval_in_one_line(tmp_path, capsys):
    from dllab.cli import main

    runs = tmp_path / "runs"
    assert main(["serve", "--port", "0", "--runs", str(runs), "--checkpoint-interval", "-1"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == "dllab: error: --checkpoint-interval must be a finite number >= 0 (seconds), got -1.0"
    )
    assert not runs.exists()  # refused before anything was made


def test_importing_dllab_does_not_import_the_web_lab():
    import subprocess
    import sys

    code = "import sys, dllab.cli; print('starlette' in sys.modules, 'dllab.web' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_playing_session_pauses_when_its_tab_stops_asking_for_frames(lab, monkeypatch):
    from dllab.web import playground

    client, *_ = lab
    sid = client.post("/api/playground", json={"kind": "gan"}, headers=SAME_ORIGIN).json()["id"]
    session = client.app.state.lab.playgrounds.sessions[sid]
    monkeypatch.setattr(playground, "UNWATCHED_S", 0.5)
    client.post(f"/api/playground/{sid}/control", json={"action": "play"}, headers=SAME_ORIGIN)
    deadline = time.monotonic() + 10
    while session.playing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session.playing and session.lab.step_count > 0  # it trained, then paused
    assert json.loads(session.frame(None))["playing"] is False
