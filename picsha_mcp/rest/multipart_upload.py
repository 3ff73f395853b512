"""A streaming multipart/form-data reader: the file part goes straight to staging as it arrives.

Unlike a spooling form parser, the byte limit is enforced while the body streams in (a chunked upload
without Content-Length cannot fill a disk), and the file is written once. A body the parser cannot read, or
one that ends before its closing boundary (an upload cut off on the way), is refused and nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from engine.errors import InvalidInput, TooLarge
from engine.ingest.staging import StagedFile, StagingWriter

FILE_FIELD = "file"
MAX_FIELDS = 50
MAX_FIELD_BYTES = 256 * 1024
MAX_BOUNDARY = 70  # RFC 2046: 1-70 characters


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)


@dataclass
class MultipartUpload:
    fields: dict[str, str]
    filename: str | None = None
    staged: StagedFile | None = None


class _Reader:
    def __init__(self, writer: StagingWriter):
        self.writer = writer
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_seen = False
        self.part = _Part()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, bytes] = {}
        self.pending: list[bytes] = []

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self.header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self.header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self.part, self.headers = _Part(), {}

    def _header_end(self) -> None:
        self.headers[self.header_field.decode("latin-1").lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def _read_disposition(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        self.part.filename = raw_filename.decode("utf-8", "replace") if raw_filename is not None else None

    def _headers_finished(self) -> None:
        self._read_disposition()
        if self._is_file_part():
            if self.file_seen:
                raise InvalidInput("Send one file per request in the 'file' field.", code="invalid_request")
            self.file_seen, self.filename = True, self.part.filename

    def _is_file_part(self) -> bool:
        return self.part.name == FILE_FIELD and self.part.filename is not None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file_part():
            self.pending.append(bytes(data[start:end]))
            return
        self.part.value.extend(data[start:end])
        if len(self.part.value) > MAX_FIELD_BYTES:
            raise InvalidInput(f"Form field {self.part.name!r} is over {MAX_FIELD_BYTES} bytes.", code="invalid_request")

    def _part_end(self) -> None:
        if self._is_file_part() or self.part.filename is not None:
            return
        if len(self.fields) >= MAX_FIELDS:
            raise InvalidInput(f"The form has more than {MAX_FIELDS} fields.", code="invalid_request")
        self.fields[self.part.name] = self.part.value.decode("utf-8", "replace")

    async def flush(self) -> None:
        for chunk in self.pending:
            await self.writer.write(chunk)
        self.pending.clear()


def _boundary(request: Request) -> bytes:
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary") or b""
    if not 0 < len(boundary) <= MAX_BOUNDARY or not boundary.isascii() or b"\r" in boundary or b"\n" in boundary:
        raise InvalidInput(
            "A multipart body needs 'Content-Type: multipart/form-data; boundary=...' with a boundary of "
            f"1-{MAX_BOUNDARY} ASCII characters.", code="multipart_boundary_invalid",
        )
    return boundary


async def _parse(request: Request, parser: MultipartParser, reader: _Reader) -> None:
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await reader.flush()
        parser.finalize()
    except MultipartParseError as error:
        raise InvalidInput(
            f"The multipart body is malformed ({error}); each part is '--boundary', header lines, a blank "
            "line and the data, and the body ends with '--boundary--'.", code="multipart_invalid",
        ) from error
    if parser.state != MultipartState.END:
        raise InvalidInput(
            "The multipart body ended before its closing '--boundary--': the upload was cut off, so nothing "
            "was stored. Send it again.", code="multipart_truncated",
        )
    await reader.flush()


class _FilesReader(_Reader):
    """Many file parts (in the named fields, in order), each staged by its own writer; a total byte cap."""

    def __init__(self, new_writer: Callable[[], StagingWriter], names: frozenset[str], *, max_files: int,
                 max_total: int):
        super().__init__(writer=None)  # type: ignore[arg-type]
        self.new_writer, self.names = new_writer, names
        self.max_files, self.max_total, self.total = max_files, max_total, 0
        self.writers: list[tuple[str, StagingWriter]] = []
        self.staged: list[tuple[str, StagedFile]] = []
        self.actions: list[tuple[StagingWriter, bytes | None]] = []  # data, or None: the part ended

    def _is_file_part(self) -> bool:
        return self.part.name in self.names and self.part.filename is not None

    def _headers_finished(self) -> None:
        self._read_disposition()
        if self._is_file_part():
            if len(self.writers) >= self.max_files:
                raise TooLarge(f"At most {self.max_files} files per request.", code="tool_too_many_files",
                               limit=self.max_files)
            self.writers.append((self.part.filename or "file", self.new_writer()))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file_part():
            self.actions.append((self.writers[-1][1], bytes(data[start:end])))
            return
        super()._part_data(data, start, end)

    def _part_end(self) -> None:
        if self._is_file_part():
            self.actions.append((self.writers[-1][1], None))
            return
        super()._part_end()

    async def flush(self) -> None:
        for writer, chunk in self.actions:
            if chunk is None:
                name = next(name for name, own in self.writers if own is writer)
                self.staged.append((name, writer.finish()))
                continue
            self.total += len(chunk)
            if self.total > self.max_total:
                raise TooLarge(f"The files together are over {self.max_total} bytes.", code="tool_batch_too_large",
                               limit=self.max_total)
            await writer.write(chunk)
        self.actions.clear()

    def abort(self) -> None:
        for _, writer in self.writers:
            writer.abort()
        for _, staged in self.staged:
            staged.discard()


@dataclass
class MultipartFiles:
    fields: dict[str, str]
    files: list[tuple[str, StagedFile]]  # (the client's file name, the staged bytes), in the order sent


async def read_multipart_files(request: Request, new_writer: Callable[[], StagingWriter], *, names: frozenset[str],
                               max_files: int, max_total: int) -> MultipartFiles:
    """Read a form with any number of file parts in ``names``; every staged file is discarded on error."""
    reader = _FilesReader(new_writer, names, max_files=max_files, max_total=max_total)
    try:
        parser = MultipartParser(_boundary(request), reader.callbacks())  # type: ignore[arg-type]
        await _parse(request, parser, reader)
    except BaseException:
        reader.abort()
        raise
    return MultipartFiles(fields=reader.fields, files=reader.staged)


async def read_multipart(request: Request, writer: StagingWriter) -> MultipartUpload:
    """Read the whole form; the 'file' part is staged through ``writer`` (aborted on any error)."""
    reader = _Reader(writer)
    try:
        parser = MultipartParser(_boundary(request), reader.callbacks())  # type: ignore[arg-type]
        await _parse(request, parser, reader)
    except BaseException:
        writer.abort()
        raise
    if not reader.file_seen:
        writer.abort()
        return MultipartUpload(fields=reader.fields)
    return MultipartUpload(fields=reader.fields, filename=reader.filename, staged=writer.finish())
