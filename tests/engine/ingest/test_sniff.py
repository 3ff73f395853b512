"""Types are decided from bytes: every allow-listed format is recognised, anything else refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.ingest.sniff import sniff
from tests.factories import SVG, docx_bytes, heic_bytes, image_bytes, office_zip, pdf_bytes

CASES = {
    "jpeg": lambda: image_bytes(32, 24, "jpeg"),
    "png": lambda: image_bytes(32, 24, "png"),
    "webp": lambda: image_bytes(32, 24, "webp"),
    "avif": lambda: image_bytes(32, 24, "avif"),
    "gif": lambda: image_bytes(32, 24, "gif"),
    "tiff": lambda: image_bytes(32, 24, "tiff"),
    "heic": heic_bytes,
    "svg": lambda: SVG,
    "pdf": lambda: pdf_bytes(1),
    "docx": docx_bytes,
    "xlsx": lambda: office_zip("xlsx"),
    "pptx": lambda: office_zip("pptx"),
    "odt": lambda: office_zip("odt"),
}


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_each_allowed_format_is_recognised_from_bytes(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "upload.bin"  # the name says nothing: the bytes decide
    path.write_bytes(CASES[fmt]())
    kind = sniff(path, "upload.bin")
    assert kind is not None and kind.format == fmt


def test_text_and_markdown(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("# Notes\n\nsome text, ünïcode too\n")
    assert sniff(path, "notes.md").format == "md"
    assert sniff(path, "notes.txt").format == "txt"


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64,  # a Windows executable
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,  # an ELF binary
        b"PK\x03\x04" + b"\x00" * 64,  # a zip that is no office document
        b"\x00\x01\x02\x03binary",  # binary junk
        b"\xff\xfe\xfd not utf-8 \xc3\x28",  # bytes that are not UTF-8 text
    ],
)
def test_other_files_are_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "evil.jpg"
    path.write_bytes(data)
    assert sniff(path, "evil.jpg") is None


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("data", "is_text"),
    [
        (b"a" * (2 * MIB) + b"\xff" + b"b" * 100, False),  # bad bytes after megabytes of plain ASCII
        (b"a" * (MIB - 1) + "é".encode() + b"b" * MIB, True),  # a character split across two reads
        (b"a" * (MIB - 1) + b"\xc3", False),  # a character cut off at the end of the file
        (b"a" * (3 * MIB) + b"\x00", False),  # a NUL far into the file
    ],
)
def test_the_whole_file_is_checked_for_text(tmp_path: Path, data: bytes, is_text: bool) -> None:
    path = tmp_path / "long.txt"
    path.write_bytes(data)
    assert (sniff(path, "long.txt") is not None) is is_text


def test_a_stager_that_saw_only_ascii_spares_the_whole_file_check(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 5000 + b"\x00")  # the NUL lies past the head: only the whole-file check finds it
    assert sniff(path, "f.txt") is None
    kind = sniff(path, "f.txt", ascii_text=True)  # the stager's word stands in for reading the file again
    assert kind is not None and kind.format == "txt"
    png = tmp_path / "p"
    png.write_bytes(image_bytes(8, 8, "png"))
    kind = sniff(png, "p.txt", ascii_text=True)  # magic bytes are checked first, as always
    assert kind is not None and kind.format == "png"
