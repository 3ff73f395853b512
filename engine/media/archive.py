"""Office files (and any ZIP container) opened safely: checked from the central directory, read in bounded pieces.

Every reader of a ZIP container (type sniffing, document properties, text extraction) goes through
``open_archive``. Before one byte is inflated it checks, from the end-of-central-directory record and the
central directory alone, the member count, each member's and the total declared uncompressed size, and the
compression ratios. Members are then read in small pieces, one byte past what their entry declares, so a
member whose data inflates past its declared size is caught at that size instead of filling memory.
"""

from __future__ import annotations

import copy
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidInput

RATIO_FLOOR = 1024 * 1024  # below this many inflated bytes a high ratio costs nothing worth refusing
CHUNK = 64 * 1024
DIRECTORY_BYTES_PER_MEMBER = 1024  # the central directory may spend this much per allowed member
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_EOCD_SEARCH = 22 + 65535  # the record plus the longest comment
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


@dataclass(frozen=True)
class ArchiveLimits:
    """The defaults of ``IngestSettings.archive_*``."""

    max_total_bytes: int = 256 * 1024 * 1024
    max_member_bytes: int = 128 * 1024 * 1024
    max_ratio: float = 200.0
    max_members: int = 10_000


class UnreadableArchive(Exception):
    """Not a ZIP container that can be read (truncated, damaged, an unsupported method); says why."""


def too_large(message: str, limit: int | float, setting: str) -> InvalidInput:
    return InvalidInput(message, code="asset_archive_too_large", limit=limit, setting=setting)


def bomb(message: str, **details: object) -> InvalidInput:
    return InvalidInput(message, code="asset_archive_bomb", **details)


class SafeArchive:
    """An archive whose directory passed the limits; members come out only through bounded reads."""

    def __init__(self, archive: zipfile.ZipFile):
        self._archive = archive

    def names(self) -> set[str]:
        return set(self._archive.namelist())

    def size(self, name: str) -> int:
        return self._archive.getinfo(name).file_size

    def read(self, name: str) -> bytes:
        """The member's bytes (``KeyError`` when absent); refused when it inflates past its declared size."""
        return b"".join(self._pieces(self._archive.getinfo(name)))

    def pieces(self, name: str) -> Iterator[bytes]:
        """The member in pieces of up to 64 KiB (``KeyError`` when absent), each checked as ``read`` does."""
        return self._pieces(self._archive.getinfo(name))

    def verify(self, first_piece: Callable[[str, bytes], None] | None = None) -> None:
        """Inflate every member in pieces, checking each against its declared size and CRC, keeping nothing.

        ``first_piece(name, piece)`` sees the start of each member (up to 64 KiB) and may refuse it.
        """
        for info in self._archive.infolist():
            for index, piece in enumerate(self._pieces(info)):
                if index == 0 and first_piece is not None:
                    first_piece(info.filename, piece)

    def _pieces(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        # One byte more than declared shows a lie without trusting it; the CRC is checked here, after the size.
        allowance = copy.copy(info)
        allowance.file_size = info.file_size + 1
        del allowance.CRC
        seen, crc = 0, 0
        try:
            with self._archive.open(allowance) as handle:
                while piece := handle.read(CHUNK):
                    seen += len(piece)
                    if seen > info.file_size:
                        raise bomb(
                            f"The member {info.filename!r} inflates past the {info.file_size} bytes its directory "
                            "entry declares.", member=info.filename,
                        )
                    crc = zlib.crc32(piece, crc)
                    yield piece
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as error:
            raise UnreadableArchive(f"member {info.filename!r}: {error}") from error
        if seen != info.file_size or crc != info.CRC:
            raise UnreadableArchive(f"member {info.filename!r}: {seen} bytes with CRC {crc:08x}, declared "
                                    f"{info.file_size} bytes with CRC {info.CRC:08x}")


@contextmanager
def open_archive(path: Path, limits: ArchiveLimits) -> Iterator[SafeArchive]:
    """The container at ``path``, once its directory is within ``limits`` (``InvalidInput`` otherwise)."""
    file_size = path.stat().st_size
    _check_directory_record(path, file_size, limits)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
        raise UnreadableArchive(str(error)) from error
    with archive:
        _check_members(archive.infolist(), file_size, limits)
        yield SafeArchive(archive)


def _check_directory_record(path: Path, file_size: int, limits: ArchiveLimits) -> None:
    """Member count and directory size from the end record, before ``zipfile`` builds an entry per member."""
    with open(path, "rb") as handle:
        start = max(0, file_size - _EOCD_SEARCH)
        handle.seek(start)
        tail = handle.read()
        at = tail.rfind(_EOCD)
        if at < 0 or len(tail) - at < 22:
            raise UnreadableArchive("no end-of-central-directory record")
        _sig, _disk, _cd_disk, _here, entries, directory_size, _offset, _comment = struct.unpack(
            "<4s4H2LH", tail[at : at + 22]
        )
        locator = tail.rfind(_ZIP64_LOCATOR, 0, at)
        if locator >= 0 and at - locator == 20:
            (record_offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
            handle.seek(record_offset)
            record = handle.read(56)
            if len(record) == 56 and record[:4] == _ZIP64_EOCD:
                entries, directory_size = struct.unpack("<Q", record[32:40])[0], struct.unpack("<Q", record[40:48])[0]
    if entries > limits.max_members:
        raise too_large(
            f"The archive has {entries} members; the maximum is {limits.max_members}.",
            limits.max_members, "PICSHA_INGEST__ARCHIVE_MAX_MEMBERS",
        )
    directory_cap = max(RATIO_FLOOR, limits.max_members * DIRECTORY_BYTES_PER_MEMBER)
    if directory_size > directory_cap:
        raise too_large(
            f"The archive's directory is {directory_size} bytes; at most {directory_cap} bytes are read "
            f"({DIRECTORY_BYTES_PER_MEMBER} per allowed member).",
            limits.max_members, "PICSHA_INGEST__ARCHIVE_MAX_MEMBERS",
        )


def _check_members(infos: list[zipfile.ZipInfo], file_size: int, limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_members:
        raise too_large(
            f"The archive has {len(infos)} members; the maximum is {limits.max_members}.",
            limits.max_members, "PICSHA_INGEST__ARCHIVE_MAX_MEMBERS",
        )
    total = 0
    for info in infos:
        if info.compress_type not in _METHODS:
            raise UnreadableArchive(f"member {info.filename!r} uses compression method {info.compress_type}")
        if info.file_size > limits.max_member_bytes:
            raise too_large(
                f"The member {info.filename!r} inflates to {info.file_size} bytes; the maximum per member is "
                f"{limits.max_member_bytes}.", limits.max_member_bytes, "PICSHA_INGEST__ARCHIVE_MAX_MEMBER_BYTES",
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
            raise bomb(
                f"The member {info.filename!r} inflates {ratio:.0f} times ({info.compress_size} to "
                f"{info.file_size} bytes); the maximum ratio is {limits.max_ratio:g}.",
                member=info.filename, limit=limits.max_ratio, setting="PICSHA_INGEST__ARCHIVE_MAX_RATIO",
            )
        total += info.file_size
    if total > limits.max_total_bytes:
        raise too_large(
            f"The archive inflates to {total} bytes; the maximum is {limits.max_total_bytes}.",
            limits.max_total_bytes, "PICSHA_INGEST__ARCHIVE_MAX_TOTAL_BYTES",
        )
    # Members that share compressed bytes (overlapping entries) inflate the same data many times over.
    if total > RATIO_FLOOR and total / max(file_size, 1) > limits.max_ratio:
        raise bomb(
            f"The archive inflates {total / max(file_size, 1):.0f} times ({file_size} to {total} bytes); the maximum "
            f"ratio is {limits.max_ratio:g}.", limit=limits.max_ratio, setting="PICSHA_INGEST__ARCHIVE_MAX_RATIO",
        )


def refuse_xml_dtd(name: str, head: bytes) -> None:
    """Office XML parts never declare a DTD; one that does is refused (entity expansion, external entities)."""
    if not name.endswith((".xml", ".rels")):
        return
    text = head.decode("utf-16", "replace") if head[:2] in (b"\xff\xfe", b"\xfe\xff") else head.decode("latin-1")
    prolog_ends = next((i for i in range(len(text) - 1) if text[i] == "<" and text[i + 1].isalpha()), None)
    declares = "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper()
    if declares or (prolog_ends is None and len(head) >= CHUNK):
        raise InvalidInput(
            f"The member {name!r} declares a DTD (or has no root element in its first {CHUNK} bytes); office XML "
            "never does, and entity declarations are refused.", code="asset_xml_dtd_not_allowed", member=name,
        )
