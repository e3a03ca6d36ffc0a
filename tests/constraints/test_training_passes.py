"""The constraint pass: constant activation masks (exact) and BatchNorm statistics of the batch."""

from __future__ import annotations

import copy
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

from lesionlens.attributions import Gradient
from lesionlens.constraints import create_constraint
from lesionlens.constraints.activation_masks import ConstantActivationMasks
from lesionlens.constraints.batch_statistics import (
    batch_mean_var,
    frozen_batch_statistics,
    recorded_batch_statistics,
)
from lesionlens.models import create_model

# BatchNorm + LeakyReLU + mean (thesis' PatchGAN); max pooling; ReLU in place + residual adds
MODELS = [
    ("patchgan", {"spatial_dims": 3, "width": 4}, (3, 1, 16, 16, 16)),
    ("patchcnn", {"spatial_dims": 2, "width": 4, "norm": "batch"}, (3, 1, 24, 24)),
    ("resnet18", {"spatial_dims": 2}, (3, 1, 32, 32)),
]


def _penalty_gradients(model, x, masks: bool):
    params = [p for p in model.parameters() if p.requires_grad]
    if masks:
        with ConstantActivationMasks():
            maps = Gradient(model).attribute(x, create_graph=True)
    else:
        maps = Gradient(model).attribute(x, create_graph=True)
    penalty = F.binary_cross_entropy_with_logits(maps, torch.zeros_like(maps))
    grads = torch.autograd.grad(penalty, params, allow_unused=True)  # the head's bias: unused
    pairs = zip(params, grads, strict=True)
    return maps, [torch.zeros_like(p) if g is None else g for p, g in pairs]


@pytest.mark.parametrize(("name", "kwargs", "shape"), MODELS, ids=[m[0] for m in MODELS])
def test_constant_masks_give_the_same_maps_and_parameter_gradients(name, kwargs, shape) -> None:
    torch.manual_seed(0)
    model = create_model(name, **kwargs).double().eval()
    x = torch.randn(*shape, dtype=torch.float64)
    plain_maps, plain = _penalty_gradients(model, x, masks=False)
    masked_maps, masked = _penalty_gradients(model, x, masks=True)
    torch.testing.assert_close(masked_maps, plain_maps, rtol=1e-12, atol=1e-15)
    assert any(float(g.abs().max()) > 0 for g in plain)
    for a, b in zip(masked, plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)
    with ConstantActivationMasks():
        torch.testing.assert_close(model(x), model(x.clone()))
        assert torch.equal(torch.relu(x), x.clamp_min(0))
        assert torch.equal(F.leaky_relu(x, 0.2), torch.where(x > 0, x, 0.2 * x))


def test_constant_masks_cut_the_second_backward_from_the_forward_graph() -> None:
    """The point of the masks: the map no longer depends on the activations' graph."""
    x = torch.randn(5)
    w = torch.tensor(2.0, requires_grad=True)
    for masks, expect_edge in ((False, True), (True, False)):
        leaf = x.clone().requires_grad_(True)
        hidden = leaf * w
        if masks:
            with ConstantActivationMasks():
                out = F.leaky_relu(hidden, 0.2)
        else:
            out = F.leaky_relu(hidden, 0.2)
        (grad,) = torch.autograd.grad(out.sum(), leaf, create_graph=True)
        reaches = torch.autograd.grad(grad.sum(), hidden, allow_unused=True)[0] is not None
        assert reaches == expect_edge


def _bn_patchgan():
    torch.manual_seed(0)
    model = create_model("patchgan", spatial_dims=2, width=8).train()  # BatchNorm by default
    x = torch.randn(6, 1, 32, 32) * 2 + 1
    y = torch.tensor([0, 1, 0, 1, 1, 0])
    return model, x, y


def _scale_free_bce(maps):
    maps = maps / maps.abs().flatten(1).mean(1).view(-1, 1, 1, 1)
    return F.binary_cross_entropy_with_logits(maps, torch.zeros_like(maps))


def test_frozen_constraint_pass_normalises_with_the_classification_batch_statistics() -> None:
    model, x, y = _bn_patchgan()
    reference = copy.deepcopy(model)
    constraint = create_constraint("unsup", weight=1.0, scale_free=True, batch_statistics="frozen")
    out = constraint.classification_and_constraint(model, x, y)
    # running statistics updated once, by the whole batch (as one plain training forward)
    reference(x)
    for got, want in zip(model.buffers(), reference.buffers(), strict=True):
        torch.testing.assert_close(got, want)
    assert model.training and all(m.training for m in model.modules())
    # the constrained maps are those of the classifier normalised with the full batch's stats
    torch.manual_seed(0)
    initial = create_model("patchgan", spatial_dims=2, width=8).train()
    with recorded_batch_statistics(initial) as stats:
        logits = initial(x)
    assert len(stats) == 3  # the three normalised convolutions
    torch.testing.assert_close(logits, out["logits"])
    with frozen_batch_statistics(initial, stats):
        maps = Gradient(initial).attribute(x[y == 0], create_graph=True)
        assert not any(m.training for m in stats)
    torch.testing.assert_close(out["constraint"], _scale_free_bce(maps).detach())
    # restored afterwards: training mode and the real running buffers
    assert all(m.training for m in stats)
    for module in stats:
        assert module.running_mean is not stats[module][0]


def test_shared_constraint_pass_is_the_thesis_gradient_of_the_batch_logits() -> None:
    """Default "shared": G = ∂(Σ_batch logits)/∂x in train mode, BatchNorm cross terms included."""
    model, x, y = _bn_patchgan()
    initial = copy.deepcopy(model)
    constraint = create_constraint("unsup", weight=1.0, scale_free=True)
    assert constraint.get_config()["batch_statistics"] == "shared"
    out = constraint.classification_and_constraint(model, x, y)
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(initial(leaf).sum(), leaf)
    torch.testing.assert_close(out["constraint"], _scale_free_bce(grad[y == 0]))
    frozen = create_constraint("unsup", weight=1.0, scale_free=True, batch_statistics="frozen")
    other = frozen.classification_and_constraint(copy.deepcopy(initial), x, y)["constraint"]
    assert abs(float(other) - float(out["constraint"])) > 1e-4  # the cross terms count


def test_without_batch_statistics_shared_and_frozen_are_the_same_objective() -> None:
    torch.manual_seed(0)
    model = create_model("patchgan", spatial_dims=2, width=8, norm="instance").train()
    x, y = torch.randn(6, 1, 32, 32), torch.tensor([0, 1, 0, 1, 1, 0])
    params = list(model.parameters())
    results = []
    for mode in ("shared", "frozen"):
        constraint = create_constraint("unsup", weight=3.0, scale_free=True, batch_statistics=mode)
        loss = constraint.classification_and_constraint(model, x, y)["loss"]
        results.append((loss, torch.autograd.grad(loss, params)))
    torch.testing.assert_close(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="batch_statistics must be one of"):
        create_constraint("unsup", batch_statistics="batch")


def test_recorded_statistics_are_what_batchnorm_normalised_with() -> None:
    bn = torch.nn.BatchNorm2d(3, affine=False).train()
    x = torch.randn(4, 3, 5, 5) * 3 + 2
    with recorded_batch_statistics(bn) as stats:
        out = bn(x)
    with frozen_batch_statistics(bn, stats):
        again = bn(x)
    torch.testing.assert_close(again, out, rtol=1e-5, atol=1e-5)
    mean, var = stats[bn]
    torch.testing.assert_close(mean, x.mean((0, 2, 3)))
    torch.testing.assert_close(var, x.var((0, 2, 3), unbiased=False))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _synced_worker(rank: int, port: int, x: torch.Tensor, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2)
    try:
        mean, var = batch_mean_var(x[rank * 3 : rank * 3 + 3], synced=True)
        # numpy arrays travel by value; a tensor would travel as a shared file descriptor that
        # the parent cannot open once this process has exited (a race seen under load)
        queue.put((rank, mean.detach().numpy(), var.detach().numpy()))
    finally:
        torch.distributed.destroy_process_group()


def test_synced_statistics_are_those_of_the_union_of_the_batches() -> None:
    """SyncBatchNorm (multi-GPU DDP) normalises with every process' batch: so does the record."""
    x = torch.randn(6, 2, 4, 4, dtype=torch.float64) * 2 + 1
    context = mp.get_context("spawn")
    queue = context.Queue()
    port = _free_port()
    procs = [context.Process(target=_synced_worker, args=(r, port, x, queue)) for r in (0, 1)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    mean, var = batch_mean_var(x)
    for _, got_mean, got_var in results:
        torch.testing.assert_close(torch.from_numpy(got_mean), mean)
        torch.testing.assert_close(torch.from_numpy(got_var), var)
