"""The ``picsha`` command: serve, worker, mcp, keys, users, accounts, ingest, reindex, doctor, version."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from engine import Engine, Settings
from engine.assets import IngestOptions
from engine.auth import Principal
from engine.errors import PicshaError
from engine.settings import AuthMode
from picsha_mcp import __version__
from picsha_mcp.cli_accounts import accounts_app, first_admin_password, users_app

if TYPE_CHECKING:
    import subprocess

    from fastapi import FastAPI

app = typer.Typer(help="Picsha: S3 with a brain, for AI agents.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys of the owner account.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(accounts_app, name="accounts")
console = Console()
T = TypeVar("T")
# "auto" takes uvloop and httptools (dependencies, for their lower CPU per request byte) and falls back to
# asyncio and h11 where they do not install; bench/tus.py reads this so it measures the server as served.
# An idle connection stays open 30 s (uvicorn's own 5 s closed it while a busy client was sending its next
# request on it, which the client then saw fail: nginx keeps one 75 s).
SERVER_OPTIONS: dict[str, Any] = {"loop": "auto", "http": "auto", "timeout_keep_alive": 30}


def run_with_engine(work: Callable[[Engine], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run one command's work on an engine that runs no jobs: jobs it queues are for the server's workers."""

    async def main() -> T:
        async with Engine.open(settings or Settings(), run_jobs=False) as engine:
            return await work(engine)

    return asyncio.run(main())


@app.command()
def version() -> None:
    """Print Picsha's version."""
    console.print(f"picsha {__version__}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default from PICSHA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from PICSHA_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Server processes on the one port (default: the number of cores). With more than "
        "one, background jobs run in one more process at lower CPU priority.")] = None,
) -> None:
    """Run the REST API (and MCP over streamable HTTP) on one port."""
    import uvicorn

    from picsha_mcp.rest import create_app

    settings = Settings()
    overrides: dict[str, object] = {"host": host or settings.host, "port": port or settings.port}
    if "PICSHA_PUBLIC_URL" not in os.environ:
        overrides["public_url"] = f"http://{overrides['host']}:{overrides['port']}"
    settings = settings.model_copy(update=overrides)
    processes = workers or os.cpu_count() or 1
    # Once, before any server process starts: migrations, the owner account, the shared signing key, a first key.
    run_with_engine(_first_key if settings.auth is AuthMode.ON else _nothing, settings)
    console.print(f"Picsha {__version__} on {settings.public_url} (data in {settings.data_dir.resolve()}, "
                  f"{processes} server process{'es' if processes > 1 else ''})")
    if processes == 1:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info", **SERVER_OPTIONS)
        return
    # Several processes: uvicorn binds the port once and starts each from the factory, which reads the
    # settings from the environment (these overrides included). The processes share the catalog and the
    # data folder as separate servers do; jobs run in one `picsha worker` beside them, at lower priority.
    os.environ.update({"PICSHA_HOST": settings.host, "PICSHA_PORT": str(settings.port),
                       "PICSHA_PUBLIC_URL": settings.public_url})
    job_runner = _start_job_runner(settings) if settings.jobs.in_process else None
    os.environ["PICSHA_JOBS__IN_PROCESS"] = "false"
    try:
        uvicorn.run("picsha_mcp.cli:server_process_app", factory=True, workers=processes, host=settings.host,
                    port=settings.port, log_level="info", timeout_worker_healthcheck=WORKER_START_S,
                    **SERVER_OPTIONS)
    finally:
        if job_runner is not None:
            _stop(job_runner)


def server_process_app() -> "FastAPI":
    """The app of one of ``picsha serve``'s server processes (settings from the environment). A process
    outlives its supervisor only if that was killed outright (kill -9): it then goes the same way at once,
    not on serving the port alone."""
    from picsha_mcp.rest import create_app

    _die_with_parent(signal.SIGKILL)
    return create_app(Settings())


def _die_with_parent(sig: signal.Signals) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG


JOB_RUNNER_NICE = 10  # analyses yield the cores to the request path
# How long a server process may take to answer uvicorn's supervisor (its start imports the engine, which on
# a busy machine takes longer than uvicorn's 5 s: it would be killed and started again, over and over).
WORKER_START_S = 60


def _start_job_runner(settings: Settings) -> "subprocess.Popen[bytes]":
    """``picsha worker`` as a child of ``picsha serve``: lower CPU priority; stopped (running jobs finish or go
    back to the queue) when ``picsha serve`` stops, killed at once if ``picsha serve`` is killed outright
    (its jobs run again once their lease lapses, as after any crash)."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "picsha_mcp.cli", "worker", "--grace", "10", "--nice", str(JOB_RUNNER_NICE),
               "--stop-with-parent"]
    console.print(f"background jobs: one picsha worker process ({settings.jobs.workers} at once, nice "
                  f"{JOB_RUNNER_NICE})", style="dim")
    return subprocess.Popen(command)


def _stop(process: "subprocess.Popen[bytes]") -> None:
    import subprocess

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def _nothing(_engine: Engine) -> None:
    return None


@app.command()
def mcp() -> None:
    """Speak MCP over stdio (Claude Desktop, Cursor): as the owner account; local file paths allowed."""
    from picsha_mcp.link_listener import links_for_stdio
    from picsha_mcp.server import build_server
    from tools_manifest.calls import Transport

    async def main() -> None:
        # stdout carries the protocol: nothing else may print to it (logs go to stderr).
        async with Engine.open(Settings()) as engine:  # runs the analyses of its uploads (PICSHA_JOBS__IN_PROCESS)
            async with links_for_stdio(engine):  # its signed URLs open: a picsha serve, or its own listener
                server = build_server(engine, transport=Transport.STDIO, image_tools=engine.settings.mcp.toolsets)
                await server.run_stdio_async()

    asyncio.run(main())


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(min=1, max=64, help="Jobs at once (default PICSHA_JOBS__WORKERS).")] = None,
    grace: Annotated[float, typer.Option(min=0, help="Seconds a running job may take to finish on SIGTERM.")] = 30.0,
    nice: Annotated[int, typer.Option(min=0, max=19, help="Lower this process's CPU priority by this much "
                                      "(analyses then yield the cores to servers on the same machine).")] = 0,
    stop_with_parent: Annotated[bool, typer.Option(hidden=True, help="Stop when the parent process ends (Linux).")] = False,
) -> None:
    """Run background jobs only (no HTTP), on the embedded or the distributed backend.

    SIGTERM or Ctrl-C stops taking jobs, lets running ones finish for up to --grace seconds, and gives the
    rest back to the queue for another worker.
    """
    settings = Settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"jobs": settings.jobs.model_copy(update={"workers": concurrency})})
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    if stop_with_parent:  # picsha serve was killed outright (it stops this one itself): go the same way
        _die_with_parent(signal.SIGKILL)

    async def main() -> None:
        async with Engine.open(settings, run_jobs=False) as engine:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            console.print(f"picsha worker: {settings.jobs.workers} at once, {settings.jobs.backend.value} backend", style="dim")
            await engine.run_workers_until(stop, grace_s=grace)

    asyncio.run(main())


async def _first_key(engine: Engine) -> None:
    """A fresh install has no key and its admin no password: make both and show them once, so curl and the
    login page work at once."""
    password = await first_admin_password(engine)
    if password is not None:
        console.print(f"[bold]The owner account's admin can log in as 'admin' with this password (shown once; "
                      f"change it with POST /v1/auth/change-password):[/bold]\n  {password}", soft_wrap=True)
    if await engine.keys.count_active_keys():
        return
    info, secret = await engine.keys.create_key(engine.owner_account_id, "first key",
                                                user_id=engine.accounts.owner_user_id)
    console.print(f"[bold]No API keys yet; created one for the owner account (shown once):[/bold]\n  {secret}")


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option("--name", help="A label for the key.")]) -> None:
    """Create a key for the owner account and print it (it is shown only this once)."""

    async def work(engine: Engine) -> str:
        _info, secret = await engine.keys.create_key(engine.owner_account_id, name)
        return secret

    console.print(run_with_engine(work), soft_wrap=True)


@keys_app.command("list")
def keys_list() -> None:
    """List the owner account's keys (prefixes only; secrets are never stored)."""
    found = run_with_engine(lambda engine: engine.keys.list_keys(engine.owner_account_id))
    table = Table("id", "name", "prefix", "created", "revoked")
    for key in found:
        table.add_row(key.id, key.name, key.prefix + "…", key.created_at.isoformat(timespec="seconds"),
                      key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (key_...) from 'picsha keys list'.")]) -> None:
    """Revoke a key: refused from now on (by running servers within PICSHA_KEY_CACHE_TTL_S, 5 s)."""
    try:
        info = run_with_engine(lambda engine: engine.keys.revoke(engine.owner_account_id, key_id))
    except PicshaError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from error
    console.print(f"revoked {info.id} ({info.name})")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="Files or folders to ingest.")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag for every file (repeatable).")] = None,
) -> None:
    """Ingest local files into the owner account, with a progress bar."""
    files = sorted({f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()})
    options = IngestOptions(tags=tag or [])

    async def work(engine: Engine) -> tuple[int, list[str]]:
        principal = Principal(account_id=engine.owner_account_id)
        failures: list[str] = []
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("ingesting", total=len(files))
            for path in files:
                try:
                    asset = await engine.ingest.from_path(principal, path, options)
                    progress.console.print(f"{asset.id}  {path}")
                except PicshaError as error:
                    failures.append(f"{path}: {error.code}: {error.message}")
                progress.advance(task)
        return len(files) - len(failures), failures

    done, failures = run_with_engine(work)
    for failure in failures:
        console.print(f"[red]{failure}[/red]")
    console.print(f"{done} of {len(files)} files ingested")
    if failures:
        raise typer.Exit(1)


@app.command()
def reindex() -> None:
    """Rebuild the search index from the catalog (every asset's words, text vectors and CLIP vectors)."""

    async def work(engine: Engine) -> int:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("indexing", total=None)
            return await engine.enrich.reindex(lambda done, total: progress.update(task, completed=done, total=total))

    console.print(f"{run_with_engine(work)} assets indexed")


@app.command()
def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="Repair what can be repaired (safe beside running servers).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check that the catalog and the blob store agree; exit 1 while problems remain."""
    from engine.doctor import Severity, check

    report = run_with_engine(lambda engine: check(engine, repair=repair))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        table = Table("kind", "severity", "subject", "detail", "repair", title="picsha doctor")
        for found in report.findings:
            done = ("done: " if found.repaired else "") + (found.action or "")
            style = "red" if found in report.remaining else ("dim" if found.severity is Severity.NOTE else None)
            table.add_row(found.kind.value, found.severity.value, found.subject, found.detail, done, style=style)
        if report.findings:
            console.print(table)
        console.print(f"{report.assets} assets, {report.derivatives} derivatives, {report.stored_blobs} stored blobs: "
                      + ("clean" if report.clean else f"{len(report.remaining)} problems remain"
                         + ("" if repair else " (picsha doctor --repair)")))
    if not report.clean:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
