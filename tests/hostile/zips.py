"""ZIP containers written byte by byte, so a test can make one whose directory says what it likes."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import cache


@dataclass
class Entry:
    name: str
    data: bytes  # the stored bytes (raw deflate for method 8)
    size: int  # the uncompressed size the entry declares
    crc: int = 0
    method: int = 8


def stored(name: str, content: bytes) -> Entry:
    return Entry(name, content, len(content), zlib.crc32(content), method=0)


def deflated(name: str, content: bytes) -> Entry:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Entry(name, packer.compress(content) + packer.flush(), len(content), zlib.crc32(content))


@cache
def zeros_deflated(size: int) -> tuple[bytes, int]:
    """``size`` zero bytes as raw deflate (about a thousandth of the size), and their CRC."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1024 * 1024)
    out, crc, left = [], 0, size
    while left:
        piece = block[: min(left, len(block))]
        out.append(packer.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    out.append(packer.flush())
    return b"".join(out), crc


def zeros(name: str, size: int, *, declared: int | None = None) -> Entry:
    data, crc = zeros_deflated(size)
    return Entry(name, data, size if declared is None else declared, crc)


def build(entries: list[Entry], *, shared_data: bool = False) -> bytes:
    """The archive. ``shared_data``: every entry points at the first entry's bytes (overlapping members)."""
    body, directory = bytearray(), bytearray()
    first_offset = 0
    for index, entry in enumerate(entries):
        name = entry.name.encode()
        if shared_data and index > 0:
            offset = first_offset
        else:
            offset = len(body)
            body += struct.pack(
                "<4s5H3L2H", b"PK\x03\x04", 20, 0, entry.method, 0, 0, entry.crc, len(entry.data), entry.size,
                len(name), 0,
            ) + name + entry.data
            if index == 0:
                first_offset = offset
        directory += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, entry.method, 0, 0, entry.crc, len(entry.data), entry.size,
            len(name), 0, 0, 0, 0, 0, offset,
        ) + name
    count = min(len(entries), 0xFFFF)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(body), 0)
    return bytes(body + directory + end)


def ooxml(kind: str, extra: list[Entry]) -> bytes:
    """A Word, Excel or PowerPoint container: content types, a part in its folder, then ``extra``."""
    folder, part = {"docx": ("word", "document.xml"), "xlsx": ("xl", "workbook.xml"), "pptx": ("ppt", "presentation.xml")}[kind]
    names = {entry.name for entry in extra}
    base = [deflated("[Content_Types].xml", b'<?xml version="1.0"?><Types/>')]
    if f"{folder}/{part}" not in names:
        base.append(deflated(f"{folder}/{part}", b'<?xml version="1.0"?><x/>'))
    return build(base + extra)


def odt(extra: list[Entry]) -> bytes:
    names = {entry.name for entry in extra}
    base = [stored("mimetype", b"application/vnd.oasis.opendocument.text")]
    if "content.xml" not in names:
        base.append(deflated("content.xml", b'<?xml version="1.0"?><office:document-content/>'))
    return build(base + extra)
