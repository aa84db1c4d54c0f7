"""DistributedDataParallel on 2 CPU processes (gloo, 127.0.0.1): rank 0's history equals a
single process with the same global batch, and its checkpoint resumes in one process."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from dllab.engine import ModelCheckpoint, Supervised, Trainer, distributed
from dllab.engine.batches import make_batches
from dllab.errors import ConfigError
from dllab.models import create_model

WORKER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import torch
    from dllab.engine import ModelCheckpoint, Trainer, distributed
    sys.path.insert(0, sys.argv[2])
    from test_distributed import problem, build

    out = Path(sys.argv[1])
    distributed.init("cpu")
    torch.set_num_threads(1)
    trainer = build([ModelCheckpoint(out / "ckpt", monitor="loss", min_interval_s=0)])
    history = trainer.fit(problem(), num_epochs=3, batch_size=16)
    if distributed.is_main():
        (out / "history.json").write_text(json.dumps(history.steps))
    (out / f"rank{distributed.rank()}.json").write_text(json.dumps(
        {"world": distributed.world_size(), "shard": len(trainer.history.steps)}
    ))
    distributed.teardown()
    """
)


def problem() -> tuple[torch.Tensor, torch.Tensor]:
    """50 samples: batches of 16, 16, 16 and 2 (the last one splits 1 + 1 over two ranks)."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(50, 64, generator=g)
    return X, (X[:, :10].argmax(1) + X[:, 10:20].argmax(1)) % 10


def build(callbacks=()) -> Trainer:
    torch.manual_seed(3)
    model = create_model("digits_mlp")
    return Trainer(
        model, "momentum", lr=0.05, device="cpu", seed=7, quiet=True, callbacks=list(callbacks)
    )


TEARDOWN_ABORT = "terminate called without an active exception"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> Path:
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    for attempt in (1, 2):
        out = tmp_path_factory.mktemp("ddp")
        script = out / "worker.py"
        script.write_text(WORKER)
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--nnodes=1",
            "--master_addr=127.0.0.1",
            f"--master_port={free_port()}",
            str(script),
            str(out),
            str(Path(__file__).parent),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
        finished = all((out / f"rank{r}.json").exists() for r in (0, 1))
        if done.returncode == 0 or not (finished and TEARDOWN_ABORT in done.stderr):
            break
        # Both ranks trained and wrote their results, then one aborted while gloo's threads
        # shut down (about 1 run in 10 here, after the barrier and destroy_process_group of
        # distributed.teardown): a race inside torch, not in the run. Try once more.
        warnings.warn(f"gloo aborted at teardown on attempt {attempt}; running again", stacklevel=1)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_two_ranks_log_the_single_process_history(two_ranks):
    ranks = [json.loads((two_ranks / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert [r["shard"] for r in ranks] == [12, 12]  # both ranks took every one of the 12 steps
    steps = json.loads((two_ranks / "history.json").read_text())
    single = build().fit(problem(), num_epochs=3, batch_size=16).steps
    assert len(steps) == len(single) == 12
    for key in ("loss", "accuracy"):
        ddp = torch.tensor([s[key] for s in steps])
        one = torch.tensor([s[key] for s in single])
        torch.testing.assert_close(ddp, one, rtol=1e-4, atol=1e-5)


def test_a_two_rank_checkpoint_resumes_in_one_process(two_ranks):
    assert not distributed.is_distributed()
    resumed = build([ModelCheckpoint(two_ranks / "ckpt", monitor="loss")])
    history = resumed.fit(problem(), num_epochs=4, batch_size=16, resume=two_ranks / "ckpt")
    straight = build().fit(problem(), num_epochs=4, batch_size=16)
    assert resumed.epoch == 4 and len(history.steps) == 16
    torch.testing.assert_close(
        torch.tensor([s["loss"] for s in history.steps]),
        torch.tensor([s["loss"] for s in straight.steps]),
        rtol=1e-4,
        atol=1e-5,
    )


def test_the_shards_of_a_global_batch_partition_it():
    X = torch.arange(50).float()[:, None]
    batches = [
        list(make_batches((X,), 16, True, torch.Generator().manual_seed(5), "cpu", (r, 3)).epoch())
        for r in range(3)
    ]
    single = list(make_batches((X,), 16, True, torch.Generator().manual_seed(5), "cpu").epoch())
    assert len(single) == len(batches[0]) == 4
    for step, whole in enumerate(single):
        parts = torch.cat([batches[r][step][0] for r in range(3)])
        assert sorted(parts.flatten().tolist()) == sorted(whole[0].flatten().tolist())


def test_a_loader_without_a_distributed_sampler_is_refused_under_torchrun():
    loader = DataLoader(TensorDataset(torch.zeros(8, 2)), batch_size=4)
    with pytest.raises(ConfigError, match="DistributedSampler"):
        make_batches(loader, 4, True, None, torch.device("cpu"), shard=(0, 2))


def test_a_task_that_drives_its_networks_itself_is_refused_under_torchrun(monkeypatch):
    class OwnStep(Supervised):
        def training_step(self, trainer, batch):
            return super().training_step(trainer, batch)

    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    with pytest.raises(ConfigError, match="without torchrun"):
        Trainer(create_model("digits_mlp"), loss=OwnStep(), device="cpu", quiet=True)
