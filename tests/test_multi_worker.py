"""train.py --strategy=multi_worker with two local workers: only the chief writes.

Two `train.py` processes (TF_CONFIG on 127.0.0.1 ports) train the tiny DIC on
demo data into the same --train_dir, as workers on a shared file system do.
The test goes through the command line only, so it holds for any training
implementation behind it.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 4


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _wait_all_or_first_failure(workers, logs, timeout):
    """Waits for every worker; a failed one stops the others (they would wait for it)."""
    deadline = time.monotonic() + timeout
    while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
        if any(w.returncode not in (None, 0) for w in workers):
            break
        time.sleep(1)
    for w in workers:
        w.kill()
        w.wait()
    codes = [w.returncode for w in workers]
    tails = [log.read_text()[-2000:] for log in logs]
    assert codes == [0, 0], f"worker exit codes {codes} (< 0: stopped), stderr tails: {tails}"


@pytest.mark.slow
def test_only_the_chief_writes_and_rotation_keeps_live_checkpoints(tmp_path):
    train_dir = tmp_path / "run"
    checkpoints = train_dir / "checkpoints"
    checkpoints.mkdir(parents=True)
    host = socket.gethostname()
    # A checkpoint another live process (this one) is writing, and one of a process that ended.
    live = checkpoints / f".ckpt-00000002.tmp-{host}-{os.getpid()}-abc123"
    live.mkdir()
    (live / "model.weights.h5").write_bytes(b"in progress")
    abandoned = checkpoints / f".ckpt-00000002.tmp-{host}-{_dead_pid()}-def456"
    abandoned.mkdir()
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers, logs = [], []
    for index in range(2):
        scratch_root = tmp_path / f"tmp{index}"
        scratch_root.mkdir()
        logs.append(tmp_path / f"worker{index}.log")
        env = dict(os.environ, TMPDIR=str(scratch_root), TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "train.py"), f"--train_dir={train_dir}",
             "--strategy=multi_worker", "--config=tiny", "--demo_data",
             "--demo_train_faces=8", "--demo_val_faces=2", "--batch_size=4",
             f"--num_train_steps={STEPS}", "--val_every=2", "--checkpoint_every=2",
             "--keep_checkpoints=1", "--log_every=1", "--noprogress"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=logs[-1].open("w"),
        ))
    _wait_all_or_first_failure(workers, logs, timeout=600)
    # One writer: one metrics line per validation, the checkpoints of the chief.
    with open(train_dir / "metrics.jsonl") as f:
        assert [json.loads(line)["step"] for line in f] == [2, STEPS]
    names = sorted(os.listdir(checkpoints))
    assert f"ckpt-{STEPS:08d}" in names and live.name in names
    assert abandoned.name not in names
    assert (live / "model.weights.h5").read_bytes() == b"in progress"
    assert os.listdir(train_dir / "logs")
    # The non-chief wrote only into a scratch folder, and deleted it.
    assert os.listdir(tmp_path / "tmp1") == []
    assert not [n for n in os.listdir(tmp_path / "tmp0") if n.startswith("dic_tf-worker-")]
