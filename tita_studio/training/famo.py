"""Task balancing: FAMO (Liu et al., NeurIPS 2023) as ../shared/spec/TITA_MODEL.md specifies it, and equal weights.

FAMO keeps one logit xi_t per task, z = softmax(xi). The network minimises
sum_t z_t log(L_t - m_t + eps) / sum_t (z_t / (L_t - m_t + eps)) (m_t = 0: a lower bound), whose gradient is
a z-weighted combination of the task gradients, each divided by its loss (so every task's loss falls at
a comparable *rate*). After the network step the task losses are recomputed on the same batch;
delta_t = log L_t(before) - log L_t(after) is how much each task improved, and xi takes an Adam step along
J^T delta (J = dz/dxi). Adam descends, so weight moves away from tasks that improved most and toward the
task whose loss falls slowest.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor

from tita_studio.training.config import FamoConfig


class Balancer:
    """Common interface: `objective(losses)` for the network step, `update(after)` once the step is taken."""

    needs_recompute = False

    def objective(self, losses: Tensor) -> Tensor:
        raise NotImplementedError

    def update(self, losses_after: Tensor) -> None:
        """Default: nothing to learn."""

    def weights(self) -> Tensor:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Default: stateless."""


class EqualWeights(Balancer):
    """The ablation: the mean of the task losses."""

    def __init__(self, n_tasks: int) -> None:
        self.n_tasks = n_tasks

    def objective(self, losses: Tensor) -> Tensor:
        return losses.mean()

    def weights(self) -> Tensor:
        return torch.full((self.n_tasks,), 1.0 / self.n_tasks)


class FAMO(Balancer):
    """Fast Adaptive Multitask Optimisation; state: the logits xi and their Adam moments."""

    needs_recompute = True

    def __init__(self, n_tasks: int, cfg: FamoConfig | None = None) -> None:
        cfg = cfg or FamoConfig()
        self.eps = cfg.eps
        self.min_losses = torch.zeros(n_tasks)
        self.xi = torch.zeros(n_tasks, requires_grad=True)
        self.opt = torch.optim.Adam([self.xi], lr=cfg.lr, weight_decay=cfg.weight_decay)
        self._before: Tensor | None = None

    def weights(self) -> Tensor:
        """z = softmax(xi), the current task weights."""
        return torch.softmax(self.xi.detach(), -1)

    def objective(self, losses: Tensor) -> Tensor:
        """sum_t z_t log(L_t - m_t + eps) / sum_t (z_t / (L_t - m_t + eps)); z and the scale are constants."""
        self._before = losses.detach().float().cpu()
        z = self.weights().to(losses.device)
        d = losses - self.min_losses.to(losses.device) + self.eps
        scale = (z / d).sum().detach()
        return (z * d.log()).sum() / scale

    def update(self, losses_after: Tensor) -> None:
        """One Adam step on xi along J^T delta, delta = log L(before) - log L(after) on the same batch."""
        if self._before is None:
            raise RuntimeError("FAMO.update called before FAMO.objective")
        after = losses_after.detach().float().cpu()
        delta = (self._before - self.min_losses + self.eps).log() - (after - self.min_losses + self.eps).log()
        with torch.enable_grad():
            grad = torch.autograd.grad(torch.softmax(self.xi, -1), self.xi, grad_outputs=delta)[0]
        self.opt.zero_grad(set_to_none=True)
        self.xi.grad = grad
        self.opt.step()
        self._before = None

    def state_dict(self) -> dict[str, Any]:
        return {"xi": self.xi.detach().clone(), "opt": copy.deepcopy(self.opt.state_dict())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.xi.copy_(state["xi"])
        self.opt.load_state_dict(state["opt"])


def make_balancer(n_tasks: int, cfg: FamoConfig) -> Balancer:
    """FAMO or equal weights, as the config says."""
    return FAMO(n_tasks, cfg) if cfg.mode == "famo" else EqualWeights(n_tasks)
