"""Tiny ONNX models with the real models' input and output names, ranks and dtypes, built with ``onnx``.

Each is a few ops whose output depends on its input in a way a test can check, so the tools' real loading,
pre- and post-processing run end to end without any weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT, DOUBLE = TensorProto.FLOAT, TensorProto.DOUBLE


def _save(path: Path, nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto],
          outputs: list[onnx.ValueInfoProto], initializers: dict[str, np.ndarray] | None = None) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs,
                              [numpy_helper.from_array(value, name) for name, value in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every ONNX Runtime the project allows
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _tensor(name: str, shape: list[int | str], dtype: int = FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def u2net(path: Path) -> Path:
    """``input.1`` (1,3,320,320) -> seven (1,1,320,320) maps like U2-Net's; the first is sigmoid(channel mean)."""
    nodes = [helper.make_node("ReduceMean", ["input.1"], ["mean"], axes=[1], keepdims=1),
             helper.make_node("Sigmoid", ["mean"], ["1959"])]
    nodes += [helper.make_node("Identity", ["1959"], [f"side{i}"]) for i in range(6)]
    outputs = [_tensor("1959", [1, 1, 320, 320])] + [_tensor(f"side{i}", [1, 1, 320, 320]) for i in range(6)]
    return _save(path, nodes, [_tensor("input.1", [1, 3, 320, 320])], outputs)


def birefnet(path: Path) -> Path:
    """``input_image`` (1,3,1024,1024) -> logits (1,1,1024,1024): the channel mean, times four."""
    nodes = [helper.make_node("ReduceMean", ["input_image"], ["mean"], axes=[1], keepdims=1),
             helper.make_node("Mul", ["mean", "four"], ["output_image"])]
    return _save(path, nodes, [_tensor("input_image", [1, 3, 1024, 1024])], [_tensor("output_image", [1, 1, 1024, 1024])],
                 {"four": np.array(4.0, dtype=np.float32)})


def realesrgan(path: Path, factor: int = 4, size: int | None = None) -> Path:
    """``input`` (1,3,h,w) -> ``output`` (1,3,f*h,f*w): a 3x3 box blur with zero padding (so a tile without
    context shows at its edges), then a nearest-neighbour enlargement. ``size``: a fixed-size export."""
    box = np.full((3, 1, 3, 3), 1 / 9, dtype=np.float32)
    nodes = [helper.make_node("Conv", ["input", "box"], ["blurred"], group=3, pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["blurred", "", "scales"], ["output"], mode="nearest")]
    side: list[int | str] = [size, size] if size else ["h", "w"]
    out: list[int | str] = [size * factor, size * factor] if size else ["H", "W"]
    return _save(path, nodes, [_tensor("input", [1, 3, *side])], [_tensor("output", [1, 3, *out])],
                 {"box": box, "scales": np.array([1, 1, factor, factor], dtype=np.float32)})


def lama(path: Path) -> Path:
    """``image`` (1,3,512,512) and ``mask`` (1,1,512,512) -> ``output``: mid grey where the mask is set, the
    image elsewhere, in 0-255 as the common LaMa export gives."""
    nodes = [helper.make_node("Sub", ["one", "mask"], ["keep"]),
             helper.make_node("Mul", ["image", "keep"], ["kept"]),
             helper.make_node("Mul", ["mask", "half"], ["grey"]),
             helper.make_node("Add", ["kept", "grey"], ["unit"]),
             helper.make_node("Mul", ["unit", "full"], ["output"])]
    inputs = [_tensor("image", [1, 3, 512, 512]), _tensor("mask", [1, 1, 512, 512])]
    constants = {name: np.array(value, dtype=np.float32) for name, value in (("one", 1.0), ("half", 0.5), ("full", 255.0))}
    return _save(path, nodes, inputs, [_tensor("output", [1, 3, 512, 512])], constants)


def ddcolor(path: Path) -> Path:
    """``input`` (1,3,512,512) grey RGB -> ``output`` (1,2,512,512) ab: a = 40 x grey, b = -40 x grey."""
    weight = np.stack([np.full((3, 1, 1), 40 / 3), np.full((3, 1, 1), -40 / 3)]).astype(np.float32)
    nodes = [helper.make_node("Conv", ["input", "weight"], ["output"])]
    return _save(path, nodes, [_tensor("input", [1, 3, 512, 512])], [_tensor("output", [1, 2, 512, 512])],
                 {"weight": weight})


def gfpgan(path: Path) -> Path:
    """``input`` (1,3,512,512) in -1..1 -> ``output``: its negative (the face's colours inverted)."""
    nodes = [helper.make_node("Neg", ["input"], ["output"])]
    return _save(path, nodes, [_tensor("input", [1, 3, 512, 512])], [_tensor("output", [1, 3, 512, 512])])


def codeformer(path: Path) -> Path:
    """``input`` (1,3,512,512) and ``weight`` (double, (1,)) -> ``output`` = input x weight."""
    nodes = [helper.make_node("Cast", ["weight"], ["w"], to=FLOAT), helper.make_node("Mul", ["input", "w"], ["output"])]
    inputs = [_tensor("input", [1, 3, 512, 512]), _tensor("weight", [1], DOUBLE)]
    return _save(path, nodes, inputs, [_tensor("output", [1, 3, 512, 512])])
