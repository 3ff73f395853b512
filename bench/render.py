"""Render speed, size and quality: Picsha's cold render beside its peers, then cached renders, then memory.

    python bench/render.py [--requests 12] [--cases jpeg,photo,png,avif,face] [--variant NAME:ENV=VALUE,...]

Peers, each with its own defaults: raw pyvips in-process; Pillow in-process (``draft`` + ``thumbnail``);
sharp (Node, its own libvips) behind a small HTTP server (bench/node); thumbor (its Pillow engine) as its
own server with 2 processes, in its own virtualenv (its Pillow pin differs from Picsha's). Picsha renders
cold over HTTP (a new derivative per request). Cases: the photo-like JPEG -> 800 px WebP; a JPEG photo
mosaic -> 800 px WebP; a PNG of the mosaic -> 800 px WebP; the mosaic -> 2000 px AVIF; the mosaic -> a
300x600 cover crop on the face (each peer's nearest: libvips/sharp ``attention``, thumbor ``smart`` with
its face detector, Pillow centre). Per case and way: p50 at concurrency 1, renders/s at concurrency 2,
output bytes and SSIM (luma) against a reference made from the full-size decode with lanczos3; then
Picsha's ratios to the best peer. The ways run interleaved in rounds, so load from elsewhere hits all.
Then (c) cached render vs (e) a static file of the same bytes, and the peak RSS of a 100-megapixel render.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pyvips

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Engine, Settings  # noqa: E402
from engine.assets import IngestConfig, IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402
from engine.render import RenderParams  # noqa: E402
from engine.render.params import Fit, Gravity, OutputFormat  # noqa: E402

CACHE = ROOT / ".bench-data" / "render"
NODE_DIR = ROOT / "bench" / "node"
THUMBOR_VENV = ROOT / ".bench-data" / "thumbor-venv"
WIDTH = 800
QUALITY = 80
ANALYSIS_OFF = IngestConfig(
    auto_tag=False, auto_summarize=False, vectorize=False, location_lookup=False,
    pre_render_sizes=False, safe_search=False, ocr=False,
)


def photo(width: int, height: int, name: str) -> Path:
    """A photo-like JPEG (gradients plus noise), made once and kept between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / name
    if not path.exists():
        x = pyvips.Image.xyz(width, height)
        noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0)
        bands = [((x[0] * 255 / width) + noise).cast("uchar"), ((x[1] * 255 / height) + noise).cast("uchar"),
                 (((x[0] + x[1]) * 128 / width) + noise).cast("uchar")]
        bands[0].bandjoin(bands[1:]).copy(interpretation="srgb").jpegsave(str(path), Q=88)
    return path


# -- timing ---------------------------------------------------------------------------------------------


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.95) - 1)]
    return {"p50": p50 * 1000, "p95": p95 * 1000, "rps": len(latencies) / wall}


def in_process(work: Callable[[], object], requests: int, concurrency: int) -> tuple[list[float], float]:
    def timed(_: int) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(timed, range(requests)))
    return latencies, time.perf_counter() - start


def mosaic(width: int, height: int, name: str, *, png: bool = False) -> Path:
    """A photo mosaic: scikit-image's sample photos, 1.5x, over a stretched photo, with sensor-like grain; the
    astronaut (a face) sits left of centre. Real detail, so the encoders do real work (the gradient photo
    above compresses to a few kilobytes at 800 px)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / name
    if path.exists():
        return path
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    base = pyvips.Image.new_from_file(str(folder / "motorcycle_left.png"))
    canvas = base.resize(4000 / base.width, vscale=3000 / base.height, kernel="lanczos3")
    names = ["coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg", "retina.jpg"]
    tiles = [pyvips.Image.new_from_file(str(folder / n)).resize(1.5, kernel="lanczos3") for n in names]
    x = y = row_h = count = 0
    while y < 3000:
        tile = tiles[count % len(tiles)]
        count += 1
        tile = tile.fliphor() if (count // len(tiles)) % 2 else tile
        canvas, x, row_h = canvas.insert(tile, x, y), x + tile.width, max(row_h, tile.height)
        if x >= 4000:
            x, y, row_h = -(count * 137) % 400, y + row_h, 0
    astronaut = pyvips.Image.new_from_file(str(folder / "astronaut.png")).resize(2.0, kernel="lanczos3")
    canvas = canvas.insert(astronaut, FACE_AT[0], FACE_AT[1])
    image = (canvas + pyvips.Image.gaussnoise(4000, 3000, sigma=3, mean=0)).cast("uchar").copy(interpretation="srgb")
    if (width, height) != (4000, 3000):
        image = image.resize(width / 4000, kernel="lanczos3")
    if png:
        image.pngsave(str(path), compression=6)
    else:
        image.jpegsave(str(path), Q=90)
    return path


FACE_AT = (200, 1100)  # where the astronaut is pasted; her face spans about x 560-720, y 1220-1420
FACE_CENTRE_X = 640 / 4000


@dataclass
class Case:
    name: str
    title: str
    source: Path
    format: str  # webp or avif
    w: int
    h: int | None = None  # a cover crop on the face when set
    q: int = QUALITY
    references: dict[tuple[int, int], object] = field(default_factory=dict)

    @property
    def face(self) -> bool:
        return self.h is not None


def make_cases(names: list[str]) -> list[Case]:
    every = {
        "jpeg": lambda: Case("jpeg", "gradient photo 4000x3000 JPEG -> 800 px WebP q80",
                             photo(4000, 3000, "source-4000x3000.jpg"), "webp", WIDTH),
        "photo": lambda: Case("photo", "photo mosaic 4000x3000 JPEG -> 800 px WebP q80",
                              mosaic(4000, 3000, "mosaic-4000x3000.jpg"), "webp", WIDTH),
        "png": lambda: Case("png", "photo mosaic 2000x1500 PNG -> 800 px WebP q80",
                            mosaic(2000, 1500, "mosaic-2000x1500.png", png=True), "webp", WIDTH),
        "avif": lambda: Case("avif", "photo mosaic 4000x3000 JPEG -> 2000 px AVIF q50",
                             mosaic(4000, 3000, "mosaic-4000x3000.jpg"), "avif", 2000, q=50),
        "face": lambda: Case("face", "photo mosaic 4000x3000 JPEG -> 300x600 WebP q80 cover crop on the face",
                             mosaic(4000, 3000, "mosaic-4000x3000.jpg"), "webp", 300, h=600),
    }
    return [every[name]() for name in names]


# -- quality --------------------------------------------------------------------------------------------


def _luma(image: pyvips.Image):  # noqa: ANN202 - a numpy array
    import numpy as np

    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    image = image.colourspace("srgb").cast("uchar")
    rgb = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))
    return rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def reference(case: Case, size: tuple[int, int]):  # noqa: ANN201
    """The full-size decode, resized with lanczos3 (and for the face case, cut around the known face)."""
    if size not in case.references:
        full = pyvips.Image.new_from_file(str(case.source))
        if case.face:
            scale = max(size[0] / full.width, size[1] / full.height)
            scaled = full.resize(scale, kernel="lanczos3")
            left = min(max(0, round(FACE_CENTRE_X * scaled.width - size[0] / 2)), scaled.width - size[0])
            image = scaled.crop(left, max(0, (scaled.height - size[1]) // 2), size[0], size[1])
        else:
            image = full.resize(size[0] / full.width, vscale=size[1] / full.height, kernel="lanczos3")
        case.references[size] = _luma(image)
    return case.references[size]


def quality(case: Case, data: bytes) -> tuple[float, tuple[int, int]]:
    from skimage.metrics import structural_similarity

    image = pyvips.Image.new_from_buffer(data, "")
    size = (image.width, image.height)
    return structural_similarity(reference(case, size), _luma(image), data_range=255), size


# -- the ways -------------------------------------------------------------------------------------------


class Way:
    """One renderer. ``calls(case, n)`` returns ``n`` callables; the in-process ones run on threads, the
    others are HTTP requests."""

    name = ""
    over_http = False

    def prepare(self, case: Case, n: int) -> None:
        """Make what ``n`` renders of ``case`` need (Picsha: an asset per cold render)."""

    def targets(self, case: Case, n: int) -> list:  # noqa: ANN001 - callables or URLs
        raise NotImplementedError

    def close(self) -> None:
        pass


class Pyvips(Way):
    name = "pyvips (in-process)"

    def targets(self, case: Case, n: int) -> list:
        return [lambda: vips_render(case)] * n


def vips_render(case: Case) -> bytes:
    options = {"height": case.h, "crop": "attention"} if case.face else {}
    image = pyvips.Image.thumbnail(str(case.source), case.w, **options)
    return image.write_to_buffer(f".{case.format}", Q=case.q, keep=pyvips.enums.ForeignKeep.ICC, **AVIF_EFFORT.get(case.format, {}))


# libvips' own AVIF default (effort 4) takes 10-40 s for 2000 px here; the libvips ways use Picsha's effort 2.
AVIF_EFFORT = {"avif": {"effort": 2}}


class Pillow(Way):
    name = "Pillow (in-process)"

    def targets(self, case: Case, n: int) -> list:
        return [lambda: pillow_render(case)] * n


def pillow_render(case: Case) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(case.source) as image:
        image.draft("RGB", (case.w, case.h or case.w))
        image = image.convert("RGB")
        if case.face:  # Pillow has no smart crop: the centre
            image = ImageOps.fit(image, (case.w, case.h))
        else:
            image.thumbnail((case.w, case.w * 10))
        out = io.BytesIO()
        image.save(out, case.format.upper(), quality=case.q)
    return out.getvalue()


class Sharp(Way):
    name = "sharp (Node, HTTP)"
    over_http = True

    def __init__(self) -> None:
        if not (NODE_DIR / "node_modules" / "sharp").exists():
            subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
        self.port = free_port()
        self.process = subprocess.Popen(["node", "sharp_server.js", str(self.port)], cwd=NODE_DIR, stdout=subprocess.PIPE, text=True)
        self.version = self.process.stdout.readline().strip() if self.process.stdout else ""
        wait_port(self.port, self.process)

    def targets(self, case: Case, n: int) -> list:
        query = {"file": str(case.source), "w": case.w, "format": case.format, "q": case.q} | AVIF_EFFORT.get(case.format, {})
        if case.face:
            query |= {"h": case.h, "position": "attention"}
        return [f"http://127.0.0.1:{self.port}/render?{urlencode(query)}"] * n

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


THUMBOR_CONF = """
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ALLOW_UNSAFE_URL = True
QUALITY = 80
DETECTORS = ['thumbor.detectors.face_detector']
MAX_AGE = 0
"""


class Thumbor(Way):
    name = "thumbor (2 processes, HTTP)"
    over_http = True

    def __init__(self, scratch: Path) -> None:
        if not (THUMBOR_VENV / "bin" / "thumbor").exists():
            subprocess.run([sys.executable, "-m", "venv", str(THUMBOR_VENV)], check=True)
            subprocess.run([str(THUMBOR_VENV / "bin" / "pip"), "install", "-q", "thumbor", "opencv-python-headless<5"],
                           check=True)
        conf = scratch / "thumbor.conf"
        conf.write_text(THUMBOR_CONF.format(root=str(CACHE)))
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(THUMBOR_VENV / "bin" / "thumbor"), "--port", str(self.port), "--ip", "127.0.0.1", "--conf", str(conf),
             "--processes", "2", "--log-level", "error"], start_new_session=True,
        )
        wait_port(self.port, self.process)

    def targets(self, case: Case, n: int) -> list:
        size, smart = (f"{case.w}x{case.h}", "smart/") if case.face else (f"{case.w}x0", "")
        filters = f"filters:quality({case.q}):format({case.format})"
        return [f"http://127.0.0.1:{self.port}/unsafe/{size}/{smart}{filters}/{case.source.name}"] * n

    def close(self) -> None:
        os.killpg(self.process.pid, 15)  # the server and the processes it forked
        self.process.wait()


class Picsha(Way):
    over_http = True

    def __init__(self, name: str, env: dict[str, str], scratch: Path) -> None:
        self.name = name
        self.env = env
        self.data_dir = scratch / f"picsha-{len(list(scratch.glob('picsha-*')))}"
        self.paths: dict[str, list[str]] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @staticmethod
    def params_of(case: Case) -> RenderParams:
        face = {"h": case.h, "fit": Fit.COVER, "gravity": Gravity.FACE} if case.face else {}
        return RenderParams(w=case.w, format=OutputFormat(case.format), q=case.q, **face)

    def prepare(self, case: Case, n: int) -> None:
        self.paths[case.name] = asyncio.run(prepare_assets(case.source, self.data_dir, n + 1, self.params_of(case)))

    def start(self) -> None:
        self.process, self.url = start_server("picsha_mcp.rest:create_app", {"PICSHA_DATA_DIR": str(self.data_dir)} | self.env)

    def warm(self, case: Case) -> None:
        """The server's first render of a kind (libvips start-up, the face model) is not measured."""
        run_http([self.url + self.paths[case.name].pop()], 1)

    def targets(self, case: Case, n: int) -> list:
        taken, self.paths[case.name] = self.paths[case.name][:n], self.paths[case.name][n:]
        return [self.url + path for path in taken]

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()


def wait_port(port: int, process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{process.args} did not start")


# -- running --------------------------------------------------------------------------------------------


def run_targets(targets: list, concurrency: int) -> tuple[list[float], float, bytes]:
    if targets and callable(targets[0]):
        outputs: list[bytes] = []

        def work() -> None:
            outputs.append(targets[0]())

        latencies, wall = in_process(work, len(targets), concurrency)
        return latencies, wall, outputs[0]
    return asyncio.run(over_http(targets, concurrency))


@dataclass
class Tally:
    latencies: dict[int, list[float]] = field(default_factory=lambda: {1: [], 2: []})
    walls: dict[int, float] = field(default_factory=lambda: {1: 0.0, 2: 0.0})
    output: bytes = b""

    def p50(self) -> float:
        ordered = sorted(self.latencies[1])
        return ordered[len(ordered) // 2] * 1000

    def rps(self) -> float:
        return len(self.latencies[2]) / self.walls[2]


def bench_case(case: Case, ways: list[Way], requests: int, rounds: int) -> dict[str, Tally]:
    tallies = {way.name: Tally() for way in ways}
    if case.format == "avif":  # seconds per render: fewer of them
        requests, rounds = max(2, requests // 4), 1
    per_round = max(1, requests // rounds)
    for way in ways:  # one untimed render each: start-up, models, page cache
        if isinstance(way, Picsha):
            way.warm(case)
        else:
            tallies[way.name].output = run_targets(way.targets(case, 1), 1)[2]
    for concurrency in (1, 2):
        for _ in range(rounds):
            for way in ways:
                latencies, wall, output = run_targets(way.targets(case, per_round), concurrency)
                tallies[way.name].latencies[concurrency] += latencies
                tallies[way.name].walls[concurrency] += wall
                tallies[way.name].output = output
    return tallies


def picsha_in_process(case: Case, q: int, env: dict[str, str]) -> bytes:
    """Picsha's render pipeline in this process, with the render settings a variant's environment gives."""
    from engine.render.context import RenderContext, Source
    from engine.render.pipeline import run
    from engine.render.settings import RenderSettings

    prefix = "PICSHA_RENDER__"
    settings = RenderSettings(**{k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)})
    params = Picsha.params_of(case).model_copy(update={"q": q})
    source = Source(path=case.source, format="png" if case.source.suffix == ".png" else "jpeg")
    ctx = RenderContext(params=params, source=source, settings=settings, output_format=case.format)
    return run(ctx).data


def rate_curve(case: Case, env: dict[str, str]) -> list[tuple[float, int]]:
    """(SSIM, bytes) of Picsha's output at qualities around ``case.q``, lowest SSIM first."""
    points = []
    for q in range(case.q - 12, case.q + 13, 4):
        data = picsha_in_process(case, q, env)
        points.append((quality(case, data)[0], len(data)))
    return sorted(points)


def bytes_at(points: list[tuple[float, int]], target_ssim: float) -> float | None:
    """Picsha's bytes at the peer's SSIM, interpolated between the two ``q`` around it: two encoders'
    bytes compared at equal quality, not at equal ``q`` (their scales differ)."""
    for (s0, b0), (s1, b1) in zip(points, points[1:]):
        if s0 <= target_ssim <= s1 and s1 > s0:
            return b0 + (b1 - b0) * (target_ssim - s0) / (s1 - s0)
    return None


def report_case(case: Case, tallies: dict[str, Tally], picshas: list[Picsha]) -> None:
    picsha_names = [p.name for p in picshas]
    print(f"\n{case.name}: {case.title}")
    print(f"  {'way':<34} {'p50 c1':>9} {'ops/s c2':>9} {'bytes':>8} {'SSIM':>7}  size")
    scores = {}
    for name, tally in tallies.items():
        ssim, size = quality(case, tally.output)
        scores[name] = ssim
        print(f"  {name:<34} {tally.p50():7.1f}ms {tally.rps():9.1f} {len(tally.output):8d} {ssim:7.4f}  "
              f"{size[0]}x{size[1]}")
    peers = {name: tally for name, tally in tallies.items() if name not in picsha_names}
    fastest = max(peers, key=lambda name: peers[name].rps())
    quickest = min(peers, key=lambda name: peers[name].p50())
    for picsha in picshas:
        name = picsha.name
        mine, best = tallies[name], peers[fastest]
        print(f"  {name} / best peer: ops/s {mine.rps() / best.rps():.2f} (vs {fastest}; target >= 1), "
              f"p50 {mine.p50() / peers[quickest].p50():.2f} (vs {quickest}; target <= 1.05), "
              f"bytes {len(mine.output) / len(best.output):.2f} at SSIM {scores[name]:.4f} vs {scores[fastest]:.4f}")
        served = {peer: peers[peer] for peer in peers if "HTTP" in peer}  # peers that pay for a server too
        if served:
            rival, hurried = max(served, key=lambda n: served[n].rps()), min(served, key=lambda n: served[n].p50())
            print(f"    against the served peers only: ops/s {mine.rps() / served[rival].rps():.2f} (vs {rival}), "
                  f"p50 {mine.p50() / served[hurried].p50():.2f} (vs {hurried})")
        if not case.face:  # a crop's SSIM says where it cut more than how well it encoded
            curve = rate_curve(case, picsha.env)
            equal = [(peer, bytes_at(curve, scores[peer])) for peer in peers]
            print("    at equal SSIM, Picsha's bytes / the peer's (target <= 1.05): " + ", ".join(
                f"{peer.split(' (')[0]} {b / len(tallies[peer].output):.2f}" if b else f"{peer.split(' (')[0]} n/a"
                for peer, b in equal))


def peers_run(args: argparse.Namespace, scratch: Path) -> None:
    cases = make_cases(args.cases.split(","))
    picshas = [Picsha("Picsha cold (HTTP)", {}, scratch)]
    for spec in args.variant:
        name, _, assignments = spec.partition(":")
        env = dict(item.split("=", 1) for item in assignments.split(",") if item)
        picshas.append(Picsha(f"Picsha {name}", env, scratch))
    ways: list[Way] = [Pyvips(), Pillow()]
    try:
        ways.append(Sharp())
        print(ways[-1].version)  # type: ignore[attr-defined]
        ways.append(Thumbor(scratch))
        for picsha in picshas:
            for case in cases:
                picsha.prepare(case, 2 * args.requests + 2)
            picsha.start()
        ways += picshas
        print(f"{args.requests} renders per way, case and concurrency, in {args.rounds} interleaved rounds; "
              f"load average before: {os.getloadavg()[0]:.2f}")
        for case in cases:
            tallies = bench_case(case, ways, args.requests, args.rounds)
            report_case(case, tallies, picshas)
            for picsha in picshas:
                print(f"  where {picsha.name}'s time goes: {breakdown(case, picsha.env)}")
            if not case.face and case.format == "webp":
                print(f"  the libraries alone, one thread: {library_split(case)}")
            time.sleep(2)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        for way in ways:
            way.close()


def breakdown(case: Case, env: dict[str, str], repeats: int = 7) -> str:
    """Median time of each render step in this process (one thread), for "where the time goes"."""
    import statistics

    from engine.render.context import RenderContext, Source
    from engine.render.pipeline import STEPS
    from engine.render.settings import RenderSettings

    prefix = "PICSHA_RENDER__"
    settings = RenderSettings(**{k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)})
    source = Source(path=case.source, format="png" if case.source.suffix == ".png" else "jpeg")
    times: dict[str, list[float]] = {step.__name__: [] for step in STEPS}
    for _ in range(repeats):
        ctx = RenderContext(params=Picsha.params_of(case), source=source, settings=settings, output_format=case.format)
        for step in STEPS:
            start = time.perf_counter()
            step(ctx)
            times[step.__name__].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    shown = ", ".join(f"{name} {ms:.1f}" for name, ms in medians.items() if ms >= 0.5)
    return f"{sum(medians.values()):.1f} ms in process ({shown})"


def library_split(case: Case, repeats: int = 15) -> str:
    """The same work in sharp's libvips and in Picsha's (pyvips-binary), one thread each: decode with the
    load-time shrink sharp picks (``fastShrinkOnLoad``, Picsha's ``fast_shrink_on_load``) and resize, then
    encode those pixels. Both make the same pixels, so what differs is the library builds."""
    import json
    import statistics

    from engine.render.steps.load import jpeg_load_shrink

    done = subprocess.run(["node", "sharp_steps.js", str(case.source), str(case.w), case.format, str(case.q),
                           str(repeats)], cwd=NODE_DIR, check=True, capture_output=True, text=True)
    sharp_ms = json.loads(done.stdout)
    before = pyvips.concurrency_get()
    pyvips.concurrency_set(1)
    try:
        head = pyvips.Image.new_from_file(str(case.source))
        ratio = head.width / case.w
        height = round(head.height * case.w / head.width)
        shrink = {"shrink": jpeg_load_shrink(ratio)} if case.source.suffix == ".jpg" else {}

        def decode_resize() -> pyvips.Image:
            image = pyvips.Image.new_from_file(str(case.source), access="sequential", **shrink)
            return image.thumbnail_image(case.w, height=height, size="force").copy_memory()

        resized = decode_resize()
        decode, encode = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            decode_resize()
            decode.append(time.perf_counter() - start)
            start = time.perf_counter()
            resized.write_to_buffer(f".{case.format}", Q=case.q)
            encode.append(time.perf_counter() - start)
    finally:
        pyvips.concurrency_set(before)
    vips_decode, vips_encode = statistics.median(decode) * 1000, statistics.median(encode) * 1000
    return (f"decode + resize: sharp {sharp_ms['decode_resize_ms']:.1f} ms, pyvips {vips_decode:.1f} ms "
            f"({vips_decode / sharp_ms['decode_resize_ms']:.2f}x); encode: sharp {sharp_ms['encode_ms']:.1f} ms, "
            f"pyvips {vips_encode:.1f} ms ({vips_encode / sharp_ms['encode_ms']:.2f}x)")


# -- cached render beside a static file -----------------------------------------------------------------


def static_app():  # noqa: ANN201 - a uvicorn factory for the static-file baseline
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    path = os.environ["BENCH_STATIC_FILE"]

    async def serve(_request):  # noqa: ANN001, ANN202
        return FileResponse(path, media_type="image/webp")

    return Starlette(routes=[Route("/static.webp", serve)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(target: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=os.environ | env,
    )
    wait_port(port, process)
    return process, f"http://127.0.0.1:{port}"


async def prepare_assets(source: Path, data_dir: Path, count: int, params: RenderParams | None = None) -> list[str]:
    """``count`` assets of the same bytes (one blob): each gets its own, cold derivative."""
    params = params or RenderParams(w=WIDTH, format="webp", q=QUALITY)
    async with Engine.open(Settings(data_dir=data_dir)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        options = IngestOptions(config=ANALYSIS_OFF)
        urls = []
        for _ in range(count):
            asset = await engine.ingest.from_path(owner, source, options)
            urls.append(engine.render.signed_url(asset.id, params).removeprefix(engine.settings.public_url))
    return urls


def run_http(urls: list[str], concurrency: int) -> tuple[list[float], float, bytes]:
    return asyncio.run(over_http(urls, concurrency))


async def over_http(urls: list[str], concurrency: int) -> tuple[list[float], float, bytes]:
    import httpx2

    pending = list(urls)
    latencies: list[float] = []
    last = b""
    async with httpx2.AsyncClient(timeout=120) as client:

        async def worker() -> None:
            nonlocal last
            while pending:
                url = pending.pop(0)
                start = time.perf_counter()
                response = await client.get(url, headers={"Accept": "image/webp"})
                assert response.status_code == 200, (url, response.status_code, response.text[:200])
                latencies.append(time.perf_counter() - start)
                last = response.content

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start, last


def cached_run(requests: int, scratch: Path) -> None:
    """(c) a cached Picsha render beside (e) a static file of the same bytes, at concurrency 1 and 4."""
    source = photo(4000, 3000, "source-4000x3000.jpg")
    [cached_path] = asyncio.run(prepare_assets(source, scratch / "picsha-cached", 1))
    picsha, picsha_url = start_server("picsha_mcp.rest:create_app", {"PICSHA_DATA_DIR": str(scratch / "picsha-cached")})
    try:
        output = scratch / "static.webp"
        output.write_bytes(run_http([picsha_url + cached_path], 1)[2])  # the cached derivative exists from here on
        static, static_url = start_server("bench.render:static_app", {"BENCH_STATIC_FILE": str(output)})
        try:
            run_http([static_url + "/static.webp"] * 20, 1)
            run_http([picsha_url + cached_path] * 20, 1)
            print(f"\ncached renders: {requests} requests each")
            for concurrency in (1, 4):
                c = summary(*run_http([picsha_url + cached_path] * requests, concurrency)[:2])
                e = summary(*run_http([static_url + "/static.webp"] * requests, concurrency)[:2])
                print(f"  concurrency {concurrency}: (c) cached p50 {c['p50']:.1f} ms p95 {c['p95']:.1f} ms "
                      f"{c['rps']:.0f} req/s; (e) static p50 {e['p50']:.1f} ms p95 {e['p95']:.1f} ms {e['rps']:.0f} req/s; "
                      f"(c)/(e) p50 {c['p50'] / e['p50']:.2f} (target <= 1.2)")
        finally:
            static.terminate()
            static.wait()
    finally:
        picsha.terminate()
        picsha.wait()


# -- memory ---------------------------------------------------------------------------------------------


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since exec) of this process, in MB. (ru_maxrss would carry the parent's
    peak across fork+exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def rss_child(path: Path) -> None:
    """In a fresh process: RSS after a warm-up render, then the peak while rendering the 100-megapixel one."""
    from engine.render.context import RenderContext, Source
    from engine.render.pipeline import run
    from engine.render.settings import RenderSettings

    def render(source: Path) -> bytes:
        ctx = RenderContext(
            params=RenderParams(w=WIDTH, format="webp", q=QUALITY), source=Source(path=source, format="jpeg"),
            settings=RenderSettings(), output_format="webp",
        )
        return run(ctx).data

    render(photo(4000, 3000, "source-4000x3000.jpg"))
    before = _status_mb("VmRSS")
    render(path)
    peak = _status_mb("VmHWM")
    print(f"{peak - before:.1f} {before:.1f} {peak:.1f}")


def measure_rss() -> None:
    big = photo(10000, 10000, "source-10000x10000.jpg")
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(big)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    growth, before, after = (float(v) for v in out)
    print(f"100-megapixel JPEG -> {WIDTH} px WebP: peak RSS growth {growth:.1f} MB "
          f"(RSS {before:.0f} MB before, peak {after:.0f} MB; target <= 150 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12, help="renders per way, case and concurrency")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the renders are split into")
    parser.add_argument("--cases", default="jpeg,photo,png,avif,face")
    parser.add_argument("--cached-requests", type=int, default=200)
    parser.add_argument("--variant", action="append", default=[],
                        help="another Picsha server: NAME:PICSHA_RENDER__X=1,... (repeatable)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: peers, cached, rss")
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory() as scratch:
        if "peers" not in skip:
            peers_run(args, Path(scratch))
        if "cached" not in skip:
            cached_run(args.cached_requests, Path(scratch))
    if "rss" not in skip:
        measure_rss()


if __name__ == "__main__":
    main()
