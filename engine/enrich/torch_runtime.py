"""The one place torch-based libraries are imported (lazily, so the server starts without them).

The torchvision wheel here is built for CUDA torch: its compiled ops fail to load against CPU torch, and
its Python side then registers fake kernels for ``torchvision::nms``/``qnms``, which raises "operator
torchvision::nms does not exist". Defining those two op names first lets ``import torchvision`` (which
open_clip needs for its transforms) succeed; the ops themselves are never called by open_clip.
"""

from __future__ import annotations

import threading
from types import ModuleType

_lock = threading.Lock()
_library: object | None = None
_MISSING_OPS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)


def _define_torchvision_ops() -> None:
    global _library
    import torch

    if _library is not None:
        return
    try:
        torch.ops.torchvision.nms  # noqa: B018 - present when torchvision's own ops loaded
        return
    except (AttributeError, RuntimeError):
        pass
    library = torch.library.Library("torchvision", "DEF")
    for schema in _MISSING_OPS:
        library.define(schema)
    _library = library  # the definitions live as long as this object


def import_open_clip() -> ModuleType:
    with _lock:
        _define_torchvision_ops()
        import open_clip

    return open_clip


def import_sentence_transformers() -> ModuleType:
    """transformers imports torchvision too; the weights always come from a package, never a hub."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with _lock:
        _define_torchvision_ops()
        import sentence_transformers

    return sentence_transformers
