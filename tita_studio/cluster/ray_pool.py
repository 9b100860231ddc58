"""Ray as the engine for whole datasets: connect, start workers that load the model once, stream work.

Ray is imported only here, and only when `--cluster` is used (`pip install -e .[cluster]`).
Workers are Ray actors: one per GPU where the cluster has GPUs, else one per `worker_cpus` cores, with
torch's threads set to match. Work items stream to them through `ray.util.ActorPool`. A worker that dies
is restarted by Ray, which sends its unfinished call again (`max_restarts`, `max_task_retries`); every
output is written atomically and a done output is skipped, so nothing is lost or written twice.
Every process reads and writes its own files: the folders must be on storage all nodes share (or the
cluster is one machine).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tita_studio.errors import InputError

log = logging.getLogger(__name__)

LOCAL = "local"


@dataclass(frozen=True)
class ClusterConfig:
    """Where the workers run and how big each is."""

    address: str = LOCAL  # "local": start Ray on this machine; else a running cluster's address
    cpus: int | None = None  # local only: the cores Ray may use (default: all)
    worker_cpus: int = 1  # cores (torch threads) per CPU worker
    retries: int = 2  # times a dead worker is restarted and its unfinished call sent again


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("--cluster needs Ray: install the extra with pip install -e '.[cluster]'") from None
    return ray


def connect(config: ClusterConfig) -> Any:
    """Start Ray here (local) or join a running cluster; returns the ray module."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    if config.worker_cpus < 1:
        raise InputError("--worker-cpus must be at least 1")
    options = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
    if config.address == LOCAL:
        ray.init(num_cpus=config.cpus, **options)
    else:
        try:
            ray.init(address=config.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"cannot join the Ray cluster at {config.address} ({exc}); start it with "
                             "`ray start --head` and pass the address it prints") from exc
    return ray


def worker_shape(ray: Any, config: ClusterConfig) -> tuple[int, dict[str, float]]:
    """How many workers, and the resources each asks for: a GPU each, else `worker_cpus` cores each."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return gpus, {"num_gpus": 1, "num_cpus": 1}
    cpus = int(resources.get("CPU", 1))
    return max(1, cpus // config.worker_cpus), {"num_cpus": config.worker_cpus}


class WorkerPool:
    """Workers of one class on the cluster, each built once with the same arguments."""

    def __init__(self, config: ClusterConfig, worker_class: type, *args: Any) -> None:
        self.ray = connect(config)
        count, resources = worker_shape(self.ray, config)
        remote = self.ray.remote(max_restarts=config.retries, max_task_retries=config.retries,
                                 **resources)(worker_class)
        self.actors = [remote.remote(*args) for _ in range(count)]
        log.info("%d %s worker(s), each %s", count, worker_class.__name__, resources)

    def map_unordered(self, items: Iterable[Any]) -> Iterator[Any]:
        """`run(item)` of every item on some worker, results as they finish."""
        from ray.util import ActorPool

        yield from ActorPool(self.actors).map_unordered(lambda actor, item: actor.run.remote(item), items)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []


def set_threads(count: int) -> None:
    """torch's threads in a worker process, to match the cores Ray gave it."""
    import torch

    torch.set_num_threads(max(1, count))
    os.environ["OMP_NUM_THREADS"] = str(max(1, count))


class RateLine:
    """'[done/total] what | N per minute, about M min left' lines for a stream of finished items."""

    def __init__(self, total: int, unit: str, printer: Callable[[str], None] = print) -> None:
        self.total, self.unit, self.printer = total, unit, printer
        self.start = time.monotonic()
        self.done = 0

    def step(self, what: str) -> None:
        self.done += 1
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = self.done / elapsed * 60
        left = (self.total - self.done) / (self.done / elapsed) / 60
        self.printer(f"[{self.done}/{self.total}] {what} | {rate:.1f} {self.unit}/min, about {left:.1f} min left")
