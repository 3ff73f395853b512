"""The README's scale-out section, run as written: PostgreSQL, moto's S3 server, two ``picsha serve`` and two
``picsha worker`` processes. Only the database name, ports and folders are swapped for fresh ones."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx2
import pytest

from tests.conftest import free_port
from tests.factories import image_bytes
from tests.postgres import PG_DSN, fresh_database
from tests.processes import wait_until_serving

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- scale-out:begin[^>]*-->\s*```sh\n(.*?)```\s*<!-- scale-out:end -->", re.S)
ONLY_A_CAPTION = {"auto_tag": False, "ocr": False, "safe_search": False, "vectorize": False, "auto_summarize": True}


def readme_block() -> str:
    found = BLOCK.search((ROOT / "README.md").read_text())
    assert found, "the README has no scale-out block"
    return found.group(1)


def localised(block: str, *, database: str, s3_port: int, ports: tuple[int, int], folder: Path) -> str:
    swaps = {
        "5432/picsha": f"5432/{database}", "-U postgres picsha": f"-U postgres {database}",
        "127.0.0.1:5000": f"127.0.0.1:{s3_port}", "-p 5000": f"-p {s3_port}",
        "127.0.0.1:8000": f"127.0.0.1:{ports[0]}", "--port 8000": f"--port {ports[0]}",
        "--port 8001": f"--port {ports[1]}", "/tmp/picsha-": f"{folder}/picsha-",
        ".venv/bin/": f"{Path(sys.executable).parent}/",
    }
    for old, new in swaps.items():
        assert old in block, f"the README block no longer has {old!r}"
        block = block.replace(old, new)
    return block + "\nwait\n"


@pytest.fixture
def database() -> Iterator[str]:
    """A database name the block's ``createdb`` makes; dropped afterwards (skipped without a server)."""
    import asyncio

    async def reachable() -> None:
        async for _url in fresh_database():
            return

    asyncio.run(reachable())  # skips, or fails in CI, when PostgreSQL is not there
    name = f"picsha_scale_{uuid.uuid4().hex[:10]}"
    yield name
    subprocess.run(["dropdb", "--if-exists", "--force", "-h", "127.0.0.1", "-U", "postgres", name], check=False)


def _until(check, timeout_s: float = 90) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_the_readme_scale_out_section_works_as_written(database: str, tmp_path: Path) -> None:
    s3_port, ports = free_port(), (free_port(), free_port())
    script = localised(readme_block(), database=database, s3_port=s3_port, ports=ports, folder=tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSHA_")}
    if PG_DSN != "postgresql://postgres@127.0.0.1:5432/test":
        pytest.skip("the README block names the PostgreSQL server on 127.0.0.1:5432")
    log = tmp_path / "cluster.log"
    with log.open("wb") as out:
        cluster = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    try:
        wait_until_serving(a, cluster, log, timeout_s=120)
        wait_until_serving(b, cluster, log, timeout_s=120)
        key = re.search(r"sk_live_[A-Za-z0-9]+", log.read_text())
        assert key, log.read_text()[-3000:]
        headers = {"Authorization": f"Bearer {key.group(0)}"}
        with httpx2.Client(timeout=60, headers=headers) as http:
            created = http.post(f"{a}/v1/assets", files={"file": ("harbour-sunset.png", image_bytes(96, 64, "png"))},
                                data={"config": __import__("json").dumps(ONLY_A_CAPTION)})
            assert created.status_code in (201, 202), created.text  # 201 when a worker was done already
            asset_id, job_id = created.json()["id"], created.headers["x-job-id"]
            ready = _until(lambda: http.get(f"{b}/v1/assets/{asset_id}").json()["status"] == "ready")
            job = http.get(f"{b}/v1/jobs/{job_id}").json()
            asset = http.get(f"{b}/v1/assets/{asset_id}").json()
            found = _until(lambda: asset_id in [hit["id"] for hit in http.post(
                f"{b}/v1/search", json={"query": "harbour sunset"}).json()["results"]], 30)
        signed = asset["urls"]["original"]  # made by server b, under the public URL of server a
        from_a = httpx2.get(signed, timeout=30)
        from_b = httpx2.get(signed.replace(a, b), timeout=30)
        with httpx2.Client(timeout=60, headers=headers) as http:
            assert http.delete(f"{a}/v1/assets/{asset_id}?purge=true").status_code == 200  # not to the trash: gone
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        listed = s3.list_objects_v2(Bucket="picsha", Prefix="originals/")
    finally:
        os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(10)
    assert ready and job["status"] == "ready" and asset["ai"]["caption"], (job, log.read_text()[-3000:])
    assert found
    assert from_a.status_code == 200 and from_b.status_code == 200 and from_a.content == from_b.content
    assert listed.get("KeyCount", 0) == 0, listed
