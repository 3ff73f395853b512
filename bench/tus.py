"""Resumable-upload throughput: 1 GiB over loopback with tuspy, to Picsha and to @tus/server, beside a copy.

    python bench/tus.py [--size-mib 1024] [--chunks-mib 8 64] [--runs 2] [--loop uvloop] [--http httptools]

Picsha runs as its own uvicorn process with ``picsha serve``'s event loop and HTTP parser (``--loop`` and
``--http`` try others), and @tus/server with @tus/file-store runs under Node.js (from tests/tus_js,
``make tus-js`` installs it); both on 127.0.0.1, both started here.
The same tuspy client uploads the same file to each, once per chunk size; Picsha's time includes the
finished upload's ingest (sniff, probe, blob store, catalog; background analysis off, as in
``bench/ingest.py``), as a client waits for it. A plain ``shutil.copyfile`` of the file on the same disk
is the floor (the kernel copies inside the page cache; nothing reaches the disk), and beside it a durable
copy (the same copy, then fsync), since a finished upload is fsync'd before it is an asset. Each
measurement runs ``--runs`` times and the fastest counts (page-cache writes on a shared VM vary a lot).
Prints MB/s for each and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from tusclient import client as tus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Engine, Settings  # noqa: E402

CACHE = ROOT / ".bench-data" / "tus"
# Background analysis is off, as in bench/ingest.py: this measures the transfer and the ingest path itself.
ANALYSIS_OFF = json.dumps({
    "auto_tag": False, "auto_summarize": False, "vectorize": False, "location_lookup": False,
    "pre_render_sizes": False, "safe_search": False, "ocr": False,
})
TUS_JS = ROOT / "tests" / "tus_js"
MIB = 1024 * 1024


def make_file(size: int) -> Path:
    """A text document (text is an ingestible type whose check reads every byte), made once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"document-{size // MIB}MiB.txt"
    if not path.exists() or path.stat().st_size != size:
        line = b"Resumable uploads carry large files over unstable connections, chunk after chunk.\n"
        block = line * (MIB // len(line) + 1)
        with open(path, "wb") as out:
            for start in range(0, size, MIB):
                out.write(block[: min(MIB, size - start)])
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            requests.options(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def owner_key(settings: Settings) -> str:
    async def make() -> str:
        async with Engine.open(settings) as engine:
            return (await engine.keys.create_key(engine.owner_account_id, "bench"))[1]

    return asyncio.run(make())


@contextmanager
def picsha_server(data_dir: Path, max_bytes: int, options: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = os.environ | {
        "PICSHA_DATA_DIR": str(data_dir), "PICSHA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PICSHA_INGEST__MAX_BYTES": str(max_bytes),
    }
    key = owner_key(Settings(data_dir=data_dir, ingest={"max_bytes": max_bytes}))
    code = (
        "import uvicorn; from picsha_mcp.cli import SERVER_OPTIONS; from picsha_mcp.rest import create_app; "
        f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning', **(SERVER_OPTIONS | {options!r}))"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}/v1/upload/resumable"
        wait_until_up(url, process)
        yield url, {"Authorization": f"Bearer {key}"}
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def tus_node_server(store_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    if not (TUS_JS / "node_modules" / "@tus" / "server").exists():
        raise SystemExit("@tus/server is not installed: run 'make tus-js' (npm install in tests/tus_js)")
    store_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        ["node", str(TUS_JS / "server.mjs"), str(port), str(store_dir)], cwd=TUS_JS, stdout=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}/files"
        wait_until_up(url, process)
        yield url, {}
    finally:
        process.terminate()
        process.wait(timeout=30)


def upload(url: str, headers: dict[str, str], path: Path, chunk: int) -> tuple[float, float]:
    """Seconds for the whole upload, and for its last PATCH (which, for Picsha, includes the ingest)."""
    uploader = tus.TusClient(url, headers=headers).uploader(
        file_path=str(path), chunk_size=chunk, metadata={"filename": path.name, "config": ANALYSIS_OFF}
    )
    size = path.stat().st_size
    start = time.perf_counter()
    uploader.upload(stop_at=size - min(chunk, size))
    before_last = time.perf_counter()
    uploader.upload()
    end = time.perf_counter()
    if "Authorization" in headers and not uploader.request.response_headers.get("upload-asset-id"):
        raise RuntimeError("Picsha did not answer the last PATCH with an asset id")
    return end - start, end - before_last


def disk_copy(path: Path, target: Path, *, durable: bool = False) -> float:
    start = time.perf_counter()
    shutil.copyfile(path, target)
    if durable:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    took = time.perf_counter() - start
    target.unlink()
    return took


def warm_up(work: Path, size: int) -> None:
    """Write and delete twice the file's size once: on a fresh VM the first touch of memory is slow, and
    whichever contender ran first would pay for it."""
    target = work / "warm-up"
    block = b"\0" * MIB
    with open(target, "wb") as out:
        for _ in range(2 * size // MIB):
            out.write(block)
    target.unlink()


def best(runs: int, measure: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    return min(measure() for _ in range(runs))


def node_run(work: Path, source: Path, chunk: int) -> tuple[float, float]:
    with tus_node_server(work / "tus") as (url, headers):
        took = upload(url, headers, source, chunk)
    shutil.rmtree(work / "tus", ignore_errors=True)
    return took


def picsha_run(work: Path, source: Path, chunk: int, options: dict[str, str]) -> tuple[float, float]:
    with picsha_server(work / "picsha", source.stat().st_size + MIB, options) as (url, headers):
        took = upload(url, headers, source, chunk)
    shutil.rmtree(work / "picsha", ignore_errors=True)
    return took


def server_setup(options: dict[str, str]) -> str:
    """The event loop and HTTP parser uvicorn will use ("auto" resolved as uvicorn resolves it)."""
    from uvicorn.config import Config

    from picsha_mcp.cli import SERVER_OPTIONS

    config = Config(app=None, **(SERVER_OPTIONS | options))
    config.load()
    loop_factory = config.get_loop_factory()
    loop = loop_factory() if loop_factory else asyncio.new_event_loop()
    try:
        return f"{type(loop).__module__}.{type(loop).__name__}, {config.http_protocol_class.__name__}"
    finally:
        loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunks-mib", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--runs", type=int, default=2, help="Runs of each measurement; the fastest counts.")
    parser.add_argument("--loop", help="uvicorn event loop for Picsha (asyncio, uvloop); default: as `picsha serve`")
    parser.add_argument("--http", help="uvicorn HTTP parser for Picsha (h11, httptools); default: as `picsha serve`")
    args = parser.parse_args()
    options = {name: value for name in ("loop", "http") if (value := getattr(args, name))}
    size = args.size_mib * MIB
    source = make_file(size)
    mb = size / 1e6
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        work = Path(scratch)
        warm_up(work, size)
        copy_s = min(disk_copy(source, work / "copy") for _ in range(args.runs))
        durable_s = min(disk_copy(source, work / "copy", durable=True) for _ in range(args.runs))
        print(f"Picsha's server: {server_setup(options)}")
        print(
            f"file: {args.size_mib} MiB over loopback with tuspy; plain copy {mb / copy_s:8.1f} MB/s, "
            f"durable copy (copy + fsync) {mb / durable_s:8.1f} MB/s"
        )
        for chunk_mib in args.chunks_mib:
            node_s, node_last = best(args.runs, lambda: node_run(work, source, chunk_mib * MIB))
            picsha_s, picsha_last = best(args.runs, lambda: picsha_run(work, source, chunk_mib * MIB, options))
            print(
                f"chunks {chunk_mib:>3} MiB: picsha {mb / picsha_s:8.1f} MB/s   @tus/server {mb / node_s:8.1f} MB/s   "
                f"picsha/@tus/server {node_s / picsha_s:5.2f}   picsha/copy {copy_s / picsha_s:5.2f}   "
                f"picsha/durable copy {durable_s / picsha_s:5.2f}   "
                f"(last PATCH: picsha {picsha_last:.2f} s with ingest, @tus/server {node_last:.2f} s)"
            )


if __name__ == "__main__":
    main()
