"""`fuse --pairs` and `eval` on a local Ray with 2 CPUs, against the same runs on one process, on real
IR/visible pairs: identical outputs, resume, a killed worker retried with nothing lost, a corrupt file
reported while the others finish."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
import torch

from tita_studio.cli.main import main
from tita_studio.cluster.ray_pool import ClusterConfig, WorkerPool, connect
from tita_studio.cluster.run import eval_executor
from tita_studio.cluster.workers import PairWorker
from tita_studio.engine.runner import EngineConfig
from tita_studio.evaluation.run import evaluate
from tita_studio.model import TITA, TITAConfig
from tita_studio.model.weights import save_weights
from tita_studio.pipeline.batch import FAILED, BatchSettings, plan_pairs
from tita_studio.pipeline.fuse import FuseOptions

ray = pytest.importorskip("ray")
CLUSTER = ClusterConfig("local", cpus=2, worker_cpus=1)
MONITOR = "RAY_memory_monitor_refresh_ms"  # Ray reads this name as it is spelled


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # Ray kills workers when the whole machine is above 95% memory; a test machine shared with other work
    # (a training run) can be, through no fault of the test: its memory monitor is off for these tests
    saved = os.environ.get(MONITOR)
    os.environ[MONITOR] = "0"
    connect(CLUSTER)
    yield
    ray.shutdown()
    if saved is None:
        os.environ.pop(MONITOR, None)
    else:
        os.environ[MONITOR] = saved


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Path:
    """8 MSRS pairs, day and night, as dataset folders A/ and B/."""
    root = tmp_path_factory.mktemp("pairs")
    names = sorted(p.name for p in (datasets / "ivf/msrs_samples/A").iterdir())[:8]
    for sub in ("A", "B"):
        (root / sub).mkdir()
        for name in names:
            shutil.copy(datasets / "ivf/msrs_samples" / sub / name, root / sub / name)
    return root


@pytest.fixture(scope="module")
def small_pairs(tmp_path_factory: pytest.TempPathFactory, pairs: Path) -> Path:
    """The same pairs cut to 96 x 72, for the network."""
    root = tmp_path_factory.mktemp("small")
    for sub in ("A", "B"):
        (root / sub).mkdir()
        for path in sorted((pairs / sub).iterdir()):
            cv2.imwrite(str(root / sub / path.name), cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[100:172, 200:296])
    return root


def fuse_cli(pairs: Path, out: Path, *extra: str) -> int:
    return main(["fuse", "--pairs", str(pairs / "A"), str(pairs / "B"), "-o", str(out), *extra])


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_outputs_are_byte_identical_to_a_local_run(local_ray, pairs, tmp_path, capsys):
    assert fuse_cli(pairs, tmp_path / "local", "--method", "laplacian") == 0
    assert fuse_cli(pairs, tmp_path / "ray", "--method", "laplacian", "--cluster", "local") == 0
    printed = capsys.readouterr().out
    assert "[8/8]" in printed and "pairs/min" in printed and "min left" in printed
    assert printed.rstrip().endswith("8 fused, 0 already done (skipped), 0 failed")
    same_files(tmp_path / "local", tmp_path / "ray")


def test_the_network_on_workers_matches_one_process(local_ray, small_pairs, tmp_path):
    torch.manual_seed(0)
    model = save_weights(TITA(TITAConfig(embed_dim=12, shallow_dim=6, extract_depth=1, fusion_depth=4,
                                         recon_depth=1)), tmp_path / "tiny.safetensors", trained=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each worker runs: one core, one thread
    try:
        assert fuse_cli(small_pairs, tmp_path / "local", "--model", str(model)) == 0
    finally:
        torch.set_num_threads(threads)
    assert fuse_cli(small_pairs, tmp_path / "ray", "--model", str(model), "--cluster", "local") == 0
    same_files(tmp_path / "local", tmp_path / "ray")


def test_a_stopped_run_resumes_without_rewriting(local_ray, pairs, tmp_path, capsys):
    out = tmp_path / "out"
    assert fuse_cli(pairs, tmp_path / "local", "--method", "average") == 0
    out.mkdir()
    done = sorted((tmp_path / "local").iterdir())[:3]
    for path in done:
        shutil.copy(path, out / path.name)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    capsys.readouterr()
    assert fuse_cli(pairs, out, "--method", "average", "--cluster", "local") == 0
    assert "5 fused, 3 already done (skipped), 0 failed" in capsys.readouterr().out
    assert all((out / name).stat().st_mtime_ns == stamp for name, stamp in stamps.items())
    same_files(tmp_path / "local", out)


def test_a_killed_worker_is_restarted_and_nothing_is_lost(local_ray, pairs, tmp_path):
    assert fuse_cli(pairs, tmp_path / "local", "--method", "laplacian") == 0
    tasks = plan_pairs(pairs / "A", pairs / "B", tmp_path / "ray")
    pool = WorkerPool(CLUSTER, PairWorker, BatchSettings(FuseOptions(method="laplacian")), None, EngineConfig(), 1)
    outcomes = []
    try:
        first_pid = ray.get(pool.actors[0].pid.remote())
        for outcome in pool.map_unordered(tasks):
            outcomes.append(outcome)
            if len(outcomes) == 1:
                ray.kill(pool.actors[0], no_restart=False)  # the process dies; Ray restarts it
        assert ray.get(pool.actors[0].pid.remote()) != first_pid
    finally:
        pool.close()
    assert sorted(o.index for o in outcomes) == list(range(len(tasks)))  # every pair once
    assert not [o for o in outcomes if o.status == FAILED]
    same_files(tmp_path / "local", tmp_path / "ray")


def test_a_corrupt_file_is_reported_and_the_others_finish(local_ray, pairs, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(pairs, bad)
    victim = sorted((bad / "A").iterdir())[2]
    victim.write_bytes(victim.read_bytes()[:200])  # truncated
    assert fuse_cli(bad, tmp_path / "out", "--method", "average", "--cluster", "local") == 1
    printed = capsys.readouterr().out
    assert "7 fused, 0 already done (skipped), 1 failed" in printed
    assert f"failed: {victim.name}: " in printed and "truncated" in printed
    assert len(list((tmp_path / "out").iterdir())) == 7 and not list((tmp_path / "out").glob(".*"))


def test_eval_on_the_cluster_matches_a_local_eval(local_ray, pairs, tmp_path):
    local = evaluate([pairs], "average,laplacian", tmp_path / "local", limit=4)
    spread = evaluate([pairs], "average,laplacian", tmp_path / "ray", limit=4, executor=eval_executor(CLUSTER))
    assert [(r.item, r.method, r.scores) for r in spread.rows] == [(r.item, r.method, r.scores) for r in local.rows]
    assert spread.notes == local.notes and spread.computed == local.computed == 8
    local_cache = sorted(p.name for p in (tmp_path / "local/cache").iterdir())
    assert local_cache == sorted(p.name for p in (tmp_path / "ray/cache").iterdir())
    for name in local_cache:
        if name.endswith(".png"):
            assert (tmp_path / "local/cache" / name).read_bytes() == (tmp_path / "ray/cache" / name).read_bytes()
    again = evaluate([pairs], "average,laplacian", tmp_path / "ray", limit=4, executor=eval_executor(CLUSTER))
    assert again.reused == 8 and again.computed == 0
