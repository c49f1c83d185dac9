"""Reading a CSV file as it comes from a spreadsheet or another tool, a row at a time. Pure.

The encoding is found by one pass over the bytes, which also counts the lines (for
progress): UTF-8, with or without a byte-order mark, when every byte decodes; otherwise a
single-byte encoding, Windows-1252 when the bytes 0x80-0x9F appear (its euro sign and curly
quotes; in Latin-1 they are control characters no one types), else Latin-1. The delimiter is
sniffed from the first lines (`,` `;` tab or `|`), "," when unsure. The csv module reads
quoted newlines; each row carries the line it starts on, as a spreadsheet numbers it.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nurture.contacts.imports.errors import ImportFileError

CHUNK = 1 << 20  # bytes per read of the encoding pass
SAMPLE = 64 * 1024  # characters the delimiter is sniffed from
DELIMITERS = ",;\t|"
MAX_FIELD = 100_000  # characters in one cell; more is not a contact's data
C1 = bytes(range(0x80, 0xA0))


@dataclass(frozen=True)
class FileFormat:
    encoding: str  # a Python codec name: utf-8-sig, utf-8, cp1252, latin-1
    delimiter: str
    lines: int  # physical lines, for progress


@dataclass(frozen=True)
class Row:
    line: int  # where the row starts (the header is line 1)
    cells: list[str]


def detect(path: Path) -> FileFormat:
    """The file's encoding, delimiter and line count. Raises ImportFileError with a
    sentence when it cannot be a CSV file of contacts."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, has_c1, lines, size, last = True, False, 0, 0, b""
    with path.open("rb") as handle:
        head = handle.read(4096)
        _refuse_binary(head)
        handle.seek(0)
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
            if not has_c1 and any(b in C1 for b in chunk.translate(None, _NOT_C1)):
                has_c1 = True
    if size == 0:
        raise ImportFileError("The file is empty; its first line should name the columns, "
                              "such as email,first_name,last_name.")
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    lines += last != b"\n"
    if is_utf8:
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    else:
        encoding = "cp1252" if has_c1 else "latin-1"
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(SAMPLE)
    return FileFormat(encoding, _delimiter(sample), lines)


_NOT_C1 = bytes(b for b in range(256) if b not in C1)
CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\x0c")


def _refuse_binary(head: bytes) -> None:
    """A spreadsheet, an archive or a picture is no CSV file: say so before reading it."""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("The file is a spreadsheet (Excel or similar), not CSV; save "
                              "it as CSV UTF-8 and upload it again.")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportFileError("The file is in UTF-16; save it as CSV UTF-8 and upload it "
                              "again.")
    controls = len(head) - len(head.translate(None, CONTROL))
    if head and controls > len(head) // 20:
        raise ImportFileError("The file is not text (a picture, an archive or another "
                              "binary file?); save the contacts as CSV and upload it again.")


def _delimiter(sample: str) -> str:
    if "\n" in sample and len(sample) == SAMPLE:  # sniff whole lines only
        sample = sample[:sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def rows(path: Path, found: FileFormat) -> Iterator[Row]:
    """Every non-blank row of the file, the header first. A row the csv module cannot
    read (a cell past MAX_FIELD characters) comes as a Row with no cells and its line,
    for the caller to reject."""
    csv.field_size_limit(MAX_FIELD)
    with path.open(encoding=found.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=found.delimiter)
        end = 0
        while True:
            start = end + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                end = reader.line_num
                yield Row(start, [])
                continue
            end = reader.line_num
            if cells and any(cells):
                yield Row(start, cells)
