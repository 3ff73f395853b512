"""Each model's documented input and output signature: pre-processing, the session call, post-processing.

Arrays are HxWx3 ``uint8`` RGB in and out (masks HxW ``float32`` 0-1). The sizes come from the model's
declared input shape where it is fixed, else from the size the model was trained at.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from engine.imaging.models import Port, Session

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
UPSCALE_PAD = 10  # context around each tile, input pixels: wider than the receptive field's reach into a seam


def _image_port(session: Session, expected: str) -> Port:
    """The model's image input: rank 4, NCHW with 3 channels (or a symbolic channel count)."""
    port = next((p for p in session.inputs if p.rank == 4 and p.shape[1] in (3, None) and "mask" not in p.name.lower()),
                None)
    if port is None:
        raise session.invalid(expected)
    return port


def _spatial(port: Port) -> tuple[int, int] | None:
    """(height, width) when the model's input size is fixed, else None."""
    height, width = port.shape[2], port.shape[3]
    return (height, width) if height and width else None


def _nchw(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array.transpose(2, 0, 1)[None], dtype=np.float32)


def _hwc(tensor: np.ndarray) -> np.ndarray:
    return tensor[0].transpose(1, 2, 0)


def _to_uint8(unit: np.ndarray) -> np.ndarray:
    return (np.clip(unit, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# -- segmentation (U2-Net, BiRefNet) --------------------------------------------------------------


def segment(session: Session, rgb: np.ndarray, *, default_size: int, logits: bool) -> np.ndarray:
    """The foreground probability at each pixel, 0-1, at the image's size.

    Both take the image scaled by its maximum then ImageNet-normalised, NCHW; U2-Net's first output is a
    probability map, BiRefNet's is logits (a sigmoid first). The map is stretched to 0-1, as rembg does.
    """
    port = _image_port(session, "a segmentation model (U2-Net or BiRefNet: one NCHW RGB input)")
    size = _spatial(port) or (default_size, default_size)
    small = cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_LANCZOS4).astype(np.float32)
    small /= max(float(small.max()), 1e-6)
    prediction = session.run({port.name: _nchw((small - IMAGENET_MEAN) / IMAGENET_STD)})[0]
    if prediction.ndim not in (3, 4):
        raise session.invalid("a segmentation model whose first output is (1, 1, H, W)")
    mask = prediction.reshape(prediction.shape[-2:]).astype(np.float32)
    if logits:
        mask = _sigmoid(mask)
    low, high = float(mask.min()), float(mask.max())
    mask = (mask - low) / (high - low) if high > low else np.zeros_like(mask)
    return np.clip(cv2.resize(mask, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


# -- super-resolution (Real-ESRGAN) ---------------------------------------------------------------


def upscale(session: Session, rgb: np.ndarray, *, scale: int, tile: int,
            progress: Callable[[float], None] = lambda _f: None) -> np.ndarray:
    """The image ``scale`` times larger, model run tile by tile: memory is one tile plus the output.

    Real-ESRGAN takes RGB 0-1 NCHW and gives RGB 0-1 at its own factor (x4plus: 4, x2plus: 2). Each tile
    is run with ``UPSCALE_PAD`` pixels of its neighbours (the image's own edges reflected) and only its
    centre kept, so tiles meet without seams. A model factor above ``scale`` is averaged down per tile (an
    exact integer box); below it, the caller enlarges the result.
    """
    port = _image_port(session, "Real-ESRGAN (one NCHW RGB input)")
    fixed = _spatial(port)
    height, width = rgb.shape[:2]
    pad = UPSCALE_PAD
    if fixed:  # a fixed-size export: each tile and its context fill exactly the model's input
        tile = min(fixed) - 2 * pad
        if tile < 8:
            raise session.invalid("Real-ESRGAN with an input of at least 36 x 36 pixels")
    source = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="reflect" if min(height, width) > pad else "edge")
    out: np.ndarray | None = None
    native = keep = 0
    rows, cols = range(0, height, tile), range(0, width, tile)
    done, total = 0, len(rows) * len(cols)
    for y0 in rows:
        for x0 in cols:
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            region = source[y0: y1 + 2 * pad, x0: x1 + 2 * pad].astype(np.float32) / 255.0
            if fixed:
                region = np.pad(region, ((0, fixed[0] - region.shape[0]), (0, fixed[1] - region.shape[1]), (0, 0)),
                                mode="edge")
            result = _hwc(session.run({port.name: _nchw(region)})[0])
            factor = result.shape[0] // region.shape[0]
            if factor < 1 or result.shape[0] != factor * region.shape[0] or result.shape[1] != factor * region.shape[1]:
                raise session.invalid("Real-ESRGAN (an output an integer factor larger than its input)")
            if out is None:
                native = factor
                keep = min(native, scale)
                out = np.empty((height * keep, width * keep, 3), dtype=np.uint8)
            centre = result[pad * native: (pad + y1 - y0) * native, pad * native: (pad + x1 - x0) * native]
            if native > keep:
                centre = cv2.resize(centre, ((x1 - x0) * keep, (y1 - y0) * keep), interpolation=cv2.INTER_AREA)
            out[y0 * keep: y1 * keep, x0 * keep: x1 * keep] = _to_uint8(centre)
            done += 1
            progress(done / total)
    assert out is not None
    return out


# -- inpainting (LaMa) ----------------------------------------------------------------------------


def inpaint(session: Session, rgb: np.ndarray, mask: np.ndarray, *, default_size: int = 512) -> np.ndarray:
    """``rgb`` with the pixels where ``mask`` is set filled in by the model; other pixels untouched.

    LaMa takes ``image`` (RGB 0-1) and ``mask`` (1 = fill), both NCHW at its size. Only the masked area with
    a margin of context is sent (scaled to the model's size), and only masked pixels are written back. The
    common exports differ in output range (0-1 or 0-255): read from the output itself.
    """
    image_port = _image_port(session, "LaMa (inputs image and mask)")
    mask_port = next((p for p in session.inputs if p is not image_port and p.rank == 4), None)
    if mask_port is None:
        raise session.invalid("LaMa (inputs image and mask)")
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return rgb
    height, width = mask.shape
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    margin = max(32, (bottom - top + right - left) // 4)
    top, left = max(0, top - margin), max(0, left - margin)
    bottom, right = min(height, bottom + margin), min(width, right + margin)
    crop, crop_mask = rgb[top:bottom, left:right], mask[top:bottom, left:right]
    size = _spatial(image_port) or (default_size, default_size)
    shrink = crop.shape[0] * crop.shape[1] > size[0] * size[1]
    small = cv2.resize(crop, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    small = small.astype(np.float32) / 255.0
    small_mask = cv2.resize(crop_mask.astype(np.uint8), (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    small_mask = cv2.dilate(small_mask, np.ones((3, 3), np.uint8))  # no sliver of the object left at the edge
    feeds = {image_port.name: _nchw(small), mask_port.name: small_mask[None, None].astype(np.float32)}
    filled = _hwc(session.run(feeds)[0])
    unit = filled / 255.0 if float(filled.max()) > 2.0 else filled
    back = cv2.resize(_to_uint8(unit), (right - left, bottom - top), interpolation=cv2.INTER_CUBIC)
    result = rgb.copy()
    region = result[top:bottom, left:right]
    region[crop_mask] = back[crop_mask]
    return result


# -- colorization (DDColor) -----------------------------------------------------------------------


def colorize(session: Session, rgb: np.ndarray, *, intensity: float, default_size: int = 512) -> np.ndarray:
    """Colour predicted for the image's lightness, the lightness itself kept at full resolution.

    DDColor takes the L channel as a grey RGB image (Lab with a = b = 0, back to RGB, 0-1 NCHW) at its
    size and gives the a and b channels (1, 2, H, W); they are scaled to the image, multiplied by
    ``intensity`` and joined to the original L.
    """
    port = _image_port(session, "DDColor (one NCHW RGB input)")
    size = _spatial(port) or (default_size, default_size)
    unit = rgb.astype(np.float32) / 255.0
    lightness = cv2.cvtColor(unit, cv2.COLOR_RGB2Lab)[:, :, :1]
    small = cv2.resize(unit, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    small_l = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)[:, :, :1]
    grey = cv2.cvtColor(np.concatenate([small_l, np.zeros_like(small_l), np.zeros_like(small_l)], axis=2),
                        cv2.COLOR_Lab2RGB)
    ab = session.run({port.name: _nchw(grey)})[0]
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise session.invalid("DDColor (an output of the a and b channels, (1, 2, H, W))")
    ab = cv2.resize(_hwc(ab).astype(np.float32), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    lab = np.concatenate([lightness, ab * np.float32(intensity)], axis=2)
    return _to_uint8(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB))


# -- face restoration (GFPGAN, CodeFormer) --------------------------------------------------------


FACE_SIZE = 512


def restore_face(session: Session, face: np.ndarray, *, fidelity: float = 0.5) -> np.ndarray:
    """One aligned 512 x 512 RGB face, restored. Both take and give RGB in -1..1, NCHW; CodeFormer also
    takes its fidelity weight (0 = most restoration, 1 = closest to the input) as a second input."""
    port = _image_port(session, "a face restorer (GFPGAN or CodeFormer: one NCHW RGB input)")
    fixed = _spatial(port)
    if fixed and fixed != (FACE_SIZE, FACE_SIZE):
        raise session.invalid("a face restorer with a 512 x 512 input")
    feeds: dict[str, np.ndarray] = {port.name: _nchw((face.astype(np.float32) / 255.0 - 0.5) / 0.5)}
    for extra in session.inputs:
        if extra is not port:  # CodeFormer's weight: a scalar or a one-element tensor, float or double
            dtype = np.float64 if "double" in extra.type else np.float32
            feeds[extra.name] = np.full([1] * extra.rank, fidelity, dtype=dtype)
    restored = _hwc(session.run(feeds)[0])
    return _to_uint8((np.clip(restored, -1.0, 1.0) + 1.0) / 2.0)
