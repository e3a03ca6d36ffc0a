"""BatchNorm over the global batch under DDP (``models.global_batch_norm``): ranks simulated by
threads (``tests/rank_threads.py``), each holding its own copy of the model, as DDP processes do;
the ranks' mean gradient — second-order terms of the constraints included — and the running
statistics must be those of one process on the whole batch with ``nn.BatchNorm``."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from tests.rank_threads import rank_average_gradients
from torch import nn

from lesionlens.constraints import create_constraint
from lesionlens.models import PatchGANClassifier
from lesionlens.models.global_batch_norm import GlobalBatchNorm, convert_to_global_batch_norm

RANKS = [torch.tensor([0, 2]), torch.tensor([1, 3])]  # the sampler's interleaving, W = 2


def _model(dims: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = PatchGANClassifier(spatial_dims=dims, width=8, norm="batch")
    # non-trivial affine parameters and running statistics
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.2, 0.2)
    return model.train()


def _logit(output: torch.Tensor) -> torch.Tensor:
    return output if output.ndim == 1 else output.flatten(1).mean(1)


def _buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if "running" in k or "tracked" in k}


def _per_rank(model: nn.Module) -> list[nn.Module]:
    return [convert_to_global_batch_norm(copy.deepcopy(model)) for _ in RANKS]


def test_conversion_keeps_parameters_buffers_and_outputs_outside_a_pool() -> None:
    model = _model()
    reference = copy.deepcopy(model)
    converted = convert_to_global_batch_norm(model)
    kinds = [type(m) for m in converted.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert kinds and set(kinds) == {GlobalBatchNorm}
    assert converted.state_dict().keys() == reference.state_dict().keys()
    x = torch.randn(4, 1, 32, 32)
    torch.testing.assert_close(converted(x), reference(x), rtol=0, atol=0)
    for key, value in _buffers(reference).items():
        torch.testing.assert_close(_buffers(converted)[key], value, rtol=0, atol=0)
    converted.eval(), reference.eval()
    torch.testing.assert_close(converted(x), reference(x), rtol=0, atol=0)


@pytest.mark.parametrize("dims", [2, 3])
def test_ranks_train_as_one_process_on_the_global_batch(dims: int) -> None:
    """Outputs, BCE gradient and running statistics of 2 ranks = one process, whole batch."""
    model = _model(dims)
    x = torch.randn((4, 1) + (16,) * dims) + torch.arange(4.0).view((4,) + (1,) * (dims + 1))
    y = torch.tensor([0.0, 1.0, 0.0, 1.0])
    ranks = _per_rank(model)
    outputs: dict[int, torch.Tensor] = {}

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        rank = int(idx[0])
        logits = _logit(ranks[rank](x[idx]))
        outputs[rank] = logits.detach()
        return F.binary_cross_entropy_with_logits(logits, y[idx])

    average, _ = rank_average_gradients(loss_of, RANKS, lambda r: list(ranks[r].parameters()))
    logits = _logit(model(x))
    expected = torch.autograd.grad(F.binary_cross_entropy_with_logits(logits, y),
                                   list(model.parameters()))
    torch.testing.assert_close(outputs[0], logits.detach()[RANKS[0]], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outputs[1], logits.detach()[RANKS[1]], rtol=1e-5, atol=1e-6)
    for got, g in zip(average, expected, strict=True):
        torch.testing.assert_close(got, g, rtol=1e-4, atol=1e-6)
    for rank in ranks:
        for key, value in _buffers(model).items():
            torch.testing.assert_close(_buffers(rank)[key], value, rtol=1e-5, atol=1e-7)


def test_plain_batch_norm_over_ranks_differs() -> None:
    """The failure the layer removes: per-rank BatchNorm statistics change the gradient."""
    model = _model()
    x = torch.randn(4, 1, 32, 32) + torch.arange(4.0).view(4, 1, 1, 1)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0])
    ranks = [copy.deepcopy(model) for _ in RANKS]

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        logits = _logit(ranks[int(idx[0])](x[idx]))
        return F.binary_cross_entropy_with_logits(logits, y[idx])

    average, _ = rank_average_gradients(loss_of, RANKS, lambda r: list(ranks[r].parameters()))
    logits = _logit(model(x))
    expected = torch.autograd.grad(F.binary_cross_entropy_with_logits(logits, y),
                                   list(model.parameters()))
    gap = max(float((a - b).abs().max()) for a, b in zip(average, expected, strict=True))
    assert gap > 1e-3


@pytest.mark.parametrize(
    "labels", [[0, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 1]],
    ids=["healthy-on-each-rank", "no-healthy-on-a-rank", "no-healthy-anywhere"],
)
@pytest.mark.parametrize(
    ("attribution", "batch_statistics"),
    [("g", "shared"), ("ieg", "shared"), ("g", "frozen")],
)
def test_constrained_objective_over_ranks_is_one_process(
    attribution: str, batch_statistics: str, labels: list[int]
) -> None:
    """The thesis' objective BCE + α·L_A with BatchNorm in train mode (its default "shared" maps
    differentiate the whole batch's logits through the batch statistics): the ranks' mean
    gradient, double backprop included, is one process' on the whole batch, also when a rank
    holds no healthy image (it joins the others' constraint pass with an empty one)."""
    model = _model()
    x = torch.randn(4, 1, 32, 32) + 0.5 * torch.arange(4.0).view(4, 1, 1, 1)
    y = torch.tensor(labels)

    def fresh():
        return create_constraint("unsup", attribution=attribution, weight=10.0, seed=3,
                                 batch_statistics=batch_statistics)

    ranks = _per_rank(model)
    constraints = [fresh(), fresh()]

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        rank = int(idx[0])
        return constraints[rank].classification_and_constraint(ranks[rank], x[idx], y[idx])["loss"]

    average, _ = rank_average_gradients(loss_of, RANKS, lambda r: list(ranks[r].parameters()))
    whole = fresh().classification_and_constraint(model, x, y)["loss"]
    expected = torch.autograd.grad(whole, list(model.parameters()))
    for got, g in zip(average, expected, strict=True):
        torch.testing.assert_close(got, g, rtol=1e-4, atol=1e-6)
    for rank in ranks:
        for key, value in _buffers(model).items():
            torch.testing.assert_close(_buffers(rank)[key], value, rtol=1e-5, atol=1e-7)
