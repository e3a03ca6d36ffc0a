"""Grad-CAM (Selvaraju et al. 2017; thesis §2.IV.1), signed or with ReLU.

GC(x) = [ReLU](Σ_c w_c A_c), w_c = mean over positions of ∂F/∂A_c, for the feature map A of a
chosen layer (default: the classifier's ``cam_layer``, its last feature block), upsampled to the
input size (nearest by default, as captum's ``LayerAttribution.interpolate``) and repeated over
the input channels. The thesis' NoConsGC baseline uses the signed map (``relu=False``).
Shapes: (B, C, *spatial) → (B, C, *spatial).
"""

from __future__ import annotations

from types import TracebackType

import torch
import torch.nn.functional as F
from torch import nn

from ._base import Attribution, Target, check_input, chunks


class GradCAM(Attribution):
    """Grad-CAM bound to one layer; forward hooks live only inside :meth:`attribute`.

    Usable as a context manager (``with GradCAM(model) as cam:``); :meth:`remove_hooks` and
    ``__exit__`` guarantee that no hook is left on the model even after an error.

    Args:
        model: the classifier.
        layer: module whose output is A; None → ``model.cam_layer``.
        relu: apply the ReLU of the original method (False: signed map, thesis' NoConsGC).
        interpolate_mode: ``torch.nn.functional.interpolate`` mode for the upsampling.
    """

    name = "gradcam"

    def __init__(
        self,
        model: nn.Module,
        layer: nn.Module | None = None,
        relu: bool = False,
        interpolate_mode: str = "nearest",
    ) -> None:
        super().__init__(model)
        if layer is None:
            layer = getattr(model, "cam_layer", None)
            if not isinstance(layer, nn.Module):
                raise ValueError(
                    f"{type(model).__name__} has no cam_layer; "
                    "pass layer=<the nn.Module to explain>"
                )
        if not isinstance(layer, nn.Module):
            raise TypeError(f"layer must be an nn.Module, got {type(layer).__name__}")
        self.layer = layer
        self.relu = relu
        self.interpolate_mode = interpolate_mode
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def channel_weights(self, grads: torch.Tensor) -> torch.Tensor:
        """w_c: gradients (B, K, *s) → (B, K, 1, ...) by spatial mean (override for variants)."""
        return grads.mean(dim=tuple(range(2, grads.ndim)), keepdim=True)

    def remove_hooks(self) -> None:
        while self._handles:
            self._handles.pop().remove()

    def __enter__(self) -> GradCAM:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove_hooks()

    def _layer_map(self, x: torch.Tensor, target: Target, create_graph: bool) -> torch.Tensor:
        captured: list[torch.Tensor] = []
        self._handles.append(self.layer.register_forward_hook(lambda m, i, o: captured.append(o)))
        try:
            with torch.enable_grad():
                output = self.scalar_output(x, target)
                if not captured:
                    raise ValueError(f"layer {type(self.layer).__name__} was not used by forward")
                (grads,) = torch.autograd.grad(
                    output.sum(), captured[-1], create_graph=create_graph
                )
        finally:
            self.remove_hooks()
        activations = captured[-1] if create_graph else captured[-1].detach()
        cam = (self.channel_weights(grads) * activations).sum(1, keepdim=True)
        return F.relu(cam) if self.relu else cam

    def attribute(
        self,
        x: torch.Tensor,
        target: Target = None,
        create_graph: bool = False,
        internal_batch_size: int | None = None,
        upsample: bool = True,
    ) -> torch.Tensor:
        """Args:
        x: (B, C, *spatial).
        upsample: False returns the layer-resolution map (B, 1, *s′) (captum ``LayerGradCam``).
        """
        x = check_input(x)
        maps = []
        for piece in chunks(x.shape[0], internal_batch_size):
            cam = self._layer_map(x[piece].detach(), target, create_graph)
            if upsample:
                cam = F.interpolate(cam, size=x.shape[2:], mode=self.interpolate_mode)
                cam = cam.expand(-1, x.shape[1], *x.shape[2:])
            maps.append(cam)
        return torch.cat(maps)
