"""FAMO as specified: the scaled log objective, and weights that move toward the slowest task."""

from __future__ import annotations

import torch

from tita_studio.training.config import FamoConfig
from tita_studio.training.famo import FAMO, EqualWeights, make_balancer


def test_weights_move_toward_the_task_whose_loss_falls_slowest() -> None:
    famo = FAMO(3)
    losses = torch.tensor([1.0, 1.0, 1.0])
    for _ in range(50):
        famo.objective(losses)
        after = losses * torch.tensor([0.999, 0.95, 0.95])  # task 0 barely improves
        famo.update(after)
        losses = after
    z = famo.weights()
    assert z[0] > 0.5 and z[1] < 1 / 3 and z[2] < 1 / 3
    assert torch.isclose(z.sum(), torch.tensor(1.0))


def test_objective_gradient_is_z_over_loss_normalised() -> None:
    famo = FAMO(3)
    with torch.no_grad():
        famo.xi.copy_(torch.tensor([0.5, -0.2, 0.1]))
    losses = torch.tensor([2.0, 0.5, 1.0], requires_grad=True)
    famo.objective(losses).backward()
    z = torch.softmax(torch.tensor([0.5, -0.2, 0.1]), -1)
    expected = (z / losses.detach()) / (z / losses.detach()).sum()
    assert torch.allclose(losses.grad, expected)
    assert famo.xi.grad is None  # the network step does not touch xi


def test_xi_step_is_adam_on_jacobian_times_delta() -> None:
    cfg = FamoConfig()
    famo = FAMO(2, cfg)
    famo.objective(torch.tensor([1.0, 1.0]))
    famo.update(torch.tensor([0.5, 1.0]))
    # delta = (log 2, 0); J^T delta at z = (1/2, 1/2) is (log2/4, -log2/4); Adam's first step is lr * sign.
    assert torch.allclose(famo.xi.detach(), torch.tensor([-cfg.lr, cfg.lr]), atol=1e-6)


def test_state_round_trip_and_equal_mode() -> None:
    famo = FAMO(3)
    famo.objective(torch.tensor([1.0, 2.0, 3.0]))
    famo.update(torch.tensor([0.9, 2.0, 2.0]))
    other = FAMO(3)
    other.load_state_dict(famo.state_dict())
    for f in (famo, other):
        f.objective(torch.tensor([1.0, 1.0, 1.0]))
        f.update(torch.tensor([0.5, 0.9, 0.7]))
    assert torch.equal(famo.xi, other.xi)
    equal = make_balancer(3, FamoConfig(mode="equal"))
    assert isinstance(equal, EqualWeights) and not equal.needs_recompute
    assert equal.objective(torch.tensor([1.0, 2.0, 6.0])).item() == 3.0
