"""``OfficePool``: a few warm LibreOffice instances that turn office files into PDF.

Each instance is an ``soffice --headless`` listening on a private pipe, with its own profile folder (two
instances never share one), and beside it a small UNO client (``bridge.py``, run by the Python that has
LibreOffice's ``uno`` module) that loads a file and exports it. A conversion takes an idle instance; one
that does not answer within the timeout is killed with its client and started afresh for the next
conversion. Instances start on first use, so a process that never converts never runs LibreOffice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.documents.settings import DocumentSettings

log = logging.getLogger("picsha.documents")

BRIDGE = Path(__file__).with_name("bridge.py")
# Macro security "very high" with macros disabled outright, and no links to untrusted places followed:
# a document's Basic or scripts never run, whatever it asks for.
PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


class ConversionFailed(Exception):
    """LibreOffice could not make a PDF; ``code`` says why (document_unreadable, document_encrypted, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class ConversionTimeout(ConversionFailed):
    def __init__(self, timeout_s: float):
        super().__init__("document_conversion_timeout",
                         f"LibreOffice did not finish within {timeout_s:g} s; the instance was replaced.")


class OfficeUnavailable(ConversionFailed):
    """LibreOffice (or the Python with its uno module) is not installed here."""

    def __init__(self, message: str):
        super().__init__("document_converter_unavailable", message)


@dataclass
class _Instance:
    name: str
    profile: Path
    office: asyncio.subprocess.Process | None = None
    bridge: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return all(p is not None and p.returncode is None for p in (self.office, self.bridge))

    async def start(self, settings: DocumentSettings) -> None:
        (self.profile / "user").mkdir(parents=True, exist_ok=True)
        (self.profile / "user" / "registrymodifications.xcu").write_text(PROFILE_SETTINGS)
        self.office = await asyncio.create_subprocess_exec(
            settings.soffice, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
            "--nolockcheck", f"-env:UserInstallation={self.profile.as_uri()}",
            f"--accept=pipe,name={self.name};urp;StarOffice.ComponentContext",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # soffice is a wrapper script: its whole group is killed together
        )
        self.bridge = await asyncio.create_subprocess_exec(
            settings.uno_python, str(BRIDGE), self.name, str(settings.start_timeout_s),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True, limit=1024 * 1024,
        )
        try:
            await asyncio.wait_for(self._answer(), settings.start_timeout_s + 5)
        except (TimeoutError, ConversionFailed) as error:
            await self.stop()
            raise ConversionFailed("document_converter_unavailable",
                                   f"LibreOffice did not start: {error or 'timed out'}") from error

    async def _answer(self) -> dict[str, object]:
        assert self.bridge is not None and self.bridge.stdout is not None
        while line := await self.bridge.stdout.readline():
            with contextlib.suppress(ValueError):
                answer = json.loads(line)
                if isinstance(answer, dict):
                    return answer
        raise ConversionFailed("document_conversion_failed", "the LibreOffice instance exited")

    async def convert(self, src: Path, dst: Path, timeout_s: float) -> dict[str, object]:
        assert self.bridge is not None and self.bridge.stdin is not None
        self.bridge.stdin.write(json.dumps({"src": str(src), "dst": str(dst)}).encode() + b"\n")
        await self.bridge.stdin.drain()
        return await asyncio.wait_for(self._answer(), timeout_s)

    def kill(self) -> list[asyncio.subprocess.Process]:
        """Kill both processes (and their children) at once; the caller may wait for the returned ones."""
        killed = []
        for process in (self.bridge, self.office):
            if process is None or process.returncode is not None:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            killed.append(process)
        self.office = self.bridge = None
        # a killed instance may leave a half-written profile; the next start writes a fresh one
        shutil.rmtree(self.profile, ignore_errors=True)
        return killed

    async def stop(self) -> None:
        for process in self.kill():
            with contextlib.suppress(ProcessLookupError):
                await process.wait()


class OfficePool:
    def __init__(self, settings: DocumentSettings, work_dir: Path):
        self.settings = settings
        self.work_dir = work_dir
        self._idle: asyncio.Queue[_Instance] | None = None
        self.started = 0  # instance starts (warm reuse keeps this at the pool size)

    def available(self) -> str | None:
        """None when LibreOffice can run here, else what is missing."""
        if shutil.which(self.settings.soffice) is None:
            return f"LibreOffice ({self.settings.soffice!r}) is not installed"
        if shutil.which(self.settings.uno_python) is None:
            return f"the Python with LibreOffice's uno module ({self.settings.uno_python!r}) is missing"
        return None

    def _queue(self) -> asyncio.Queue[_Instance]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for index in range(self.settings.instances):
                name = f"picsha-{os.getpid()}-{uuid.uuid4().hex[:8]}-{index}"
                self._idle.put_nowait(_Instance(name=name, profile=self.work_dir / "office" / name))
        return self._idle

    async def convert(self, src: Path, dst: Path) -> None:
        """Write ``src`` as a PDF to ``dst``; ``ConversionFailed`` (with a code) when LibreOffice cannot."""
        missing = self.available()
        if missing:
            raise OfficeUnavailable(f"{missing}; see the README's documents section to install it.")
        idle = self._queue()
        instance = await idle.get()
        try:
            if not instance.running:
                await instance.stop()
                self.started += 1
                await instance.start(self.settings)
            try:
                answer = await instance.convert(src, dst, self.settings.timeout_s)
            except TimeoutError:
                log.warning("conversion of %s timed out; replacing instance %s", src.name, instance.name)
                await instance.stop()
                raise ConversionTimeout(self.settings.timeout_s) from None
            except (ConversionFailed, BrokenPipeError, ConnectionResetError) as error:
                await instance.stop()
                raise ConversionFailed("document_conversion_failed", f"LibreOffice stopped: {error}") from error
            except BaseException:  # cancelled mid-conversion: its late answer must never reach the next caller
                instance.kill()
                raise
        finally:
            idle.put_nowait(instance)
        if not answer.get("ok"):
            raise ConversionFailed(str(answer.get("code") or "document_conversion_failed"), str(answer.get("message")))

    async def close(self) -> None:
        if self._idle is None:
            return
        while not self._idle.empty():
            await self._idle.get_nowait().stop()
