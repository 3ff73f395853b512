"""upscale's tiling: peak memory and time of tiles against one pass over the whole image, same run.

A stand-in model with Real-ESRGAN's signature (a 3x3 blur and a 4x enlargement, built with ``onnx``) runs
through the tool's real tiling; each configuration runs in its own process so its peak RSS is its own.
The stand-in's activations are small: a real Real-ESRGAN holds 64 feature channels per input pixel,
so one pass grows far more than here, and the tiles' bound matters more.

    python bench/ai_tools.py [--width 1500 --height 1000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _one(model: str, width: int, height: int, tile: int, answer: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import numpy as np

    from engine.imaging import inference, models

    session = models.session("realesrgan", {"realesrgan": model}, 2)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    inference.upscale(session, rgb[:64, :64], scale=4, tile=64)  # warm: the session's first run allocates
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    out = inference.upscale(session, rgb, scale=4, tile=tile)
    elapsed = time.perf_counter() - started
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    answer.put((elapsed, grown / 1024, out.nbytes / 2**20))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    from tests.engine.imaging import onnx_models  # the tests' stand-in models

    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        model = str(onnx_models.realesrgan(Path(folder) / "x4.onnx"))
        print(f"upscale x4 of {args.width}x{args.height} (output {args.width * 4}x{args.height * 4})")
        print("| tiles | seconds | peak RSS growth, MiB | output array, MiB | time vs one pass |")
        print("| --- | --- | --- | --- | --- |")
        rows = []
        for tile in (max(args.width, args.height), 512, 256, 128):
            answer = context.Queue()
            worker = context.Process(target=_one, args=(model, args.width, args.height, tile, answer))
            worker.start()
            rows.append((tile, *answer.get()))
            worker.join()
        whole = rows[0][1]
        for tile, elapsed, grown, output in rows:
            label = "one pass" if tile == rows[0][0] else f"{tile} px"
            print(f"| {label} | {elapsed:.2f} | {grown:.0f} | {output:.0f} | {elapsed / whole:.2f} |")


if __name__ == "__main__":
    main()
