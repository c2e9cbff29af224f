"""Reading CSVs of raw records: as the ``readmit`` CLI reads them, or through pandas as written."""
from __future__ import annotations

import csv
import io
import os
import re
import zlib
from typing import Any, List, Union

import pandas as pd

from .errors import DataFileError

#: The longest field :func:`read_records` accepts, in bytes (the CLI's ``CSVTable.maxFieldBytes``).
MAX_FIELD_BYTES = 1 << 20
#: The most bytes a file may hold, decompressed (the CLI's ``CompressedFile.maxBytes``).
MAX_FILE_BYTES = 2**31 - 2

_BOM = b"\xef\xbb\xbf"
# A carriage return that ends no line (neither before a line feed nor at the end of the file):
# data for the CLI, a line break for the csv module.
_LONE_CR = re.compile(r"\r(?!\n|\Z)")


def read_records(path: Union[str, "os.PathLike[str]"]) -> pd.DataFrame:
    """Reads a CSV of raw records (gzip allowed) exactly as ``readmit score --records`` reads it.

    Every column is text as written (``None``, ``NA``, ``?`` stay texts; which texts are missing is
    the model's dataset spec's business, applied by the daemon, and an empty field is missing
    there). The rules are those of the CLI (docs/DATASET_SPEC.md, "CSV files"): UTF-8, a byte-order
    mark at the start ignored, LF or CRLF line endings (a lone carriage return is data; a file whose
    lines end with one alone is refused), RFC 4180 quotes (a quoted field keeps its
    line breaks as written), blank lines skipped. The result goes to
    :meth:`Client.score_records` as it is.

    Raises:
        DataFileError: with ``path``, ``line`` and ``field`` (the column) of the first bad line:
            invalid UTF-8, a field over :data:`MAX_FIELD_BYTES`, a row with more or fewer fields
            than the header, text after a closing quote or a quote not closed, a column name
            twice in the header (unnamed columns, a spreadsheet's trailing commas, are left out).
        FileNotFoundError: no such file.
    """
    name = os.fspath(path)
    data = _read_bytes(name, MAX_FILE_BYTES)
    if data.startswith(_BOM):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, field, column, offset = _locate(data, e.start)
        where = f"column '{column}': field" if column is not None else "header field"
        raise DataFileError(f"{name}:{line}: {where} {field + 1} is not valid UTF-8 (byte 0x{data[e.start]:02X} at byte "
                            f"{offset} of the field)", name, line, column, "bad_encoding") from None
    # The csv module's own limit (128 Ki characters by default) is raised to ours, process-wide
    # (it is a global of the module): a field it still refuses is over 1 MiB.
    if csv.field_size_limit() < MAX_FIELD_BYTES + 1:
        csv.field_size_limit(MAX_FIELD_BYTES + 1)
    # The csv module ends a line at a lone carriage return, where the CLI reads it as data: such
    # a return stands in as a character the text does not hold while csv parses, and is put back.
    lone_cr = None
    if "\r" in text and _LONE_CR.search(text):
        lone_cr = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
        text = _LONE_CR.sub(lone_cr, text)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: List[str] = []
    rows: List[List[str]] = []
    line = 1  # the line on which the next record starts
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not record:  # a blank line
                continue
            for k, value in enumerate(record):
                if len(value) * 4 > MAX_FIELD_BYTES and len(value.encode("utf-8")) > MAX_FIELD_BYTES:
                    column = header[k] if header and k < len(header) else None
                    raise DataFileError(f"{name}:{start}: {_where(column)}field {k + 1} is {len(value.encode('utf-8'))} "
                                        f"bytes long, over the limit of {MAX_FIELD_BYTES} bytes (1 MiB)",
                                        name, start, column, "field_too_long")
            if not header:
                header = record
                _refuse_another_separator(name, start, header)
                if lone_cr is not None:
                    _refuse_lone_carriage_returns(name, start, header, lone_cr)
                _refuse_a_name_twice(name, start, header)
            elif len(record) != len(header):
                raise DataFileError(f"{name}:{start}: row has {len(record)} fields, the header has {len(header)}",
                                    name, start, None, "malformed")
            else:
                rows.append(record)
    except csv.Error as e:
        if "field limit" in str(e):
            raise DataFileError(f"{name}:{line}: a field is over the limit of {MAX_FIELD_BYTES} bytes (1 MiB)",
                                name, line, None, "field_too_long") from None
        raise DataFileError(f"{name}:{line}: {e}", name, line, None, "malformed") from None
    if not header:
        raise DataFileError(f"{name}: file is empty (no header line)", name, None, None, "empty")
    if lone_cr is not None:
        rows = [[v.replace(lone_cr, "\r") for v in r] for r in rows]
    # Unnamed columns (a spreadsheet's trailing commas) are never read, as by the CLI: left out
    # (kept, their empty names failed score_records as a name given twice).
    named = [k for k, h in enumerate(header) if h]
    return pd.DataFrame({header[k]: pd.Series([r[k] for r in rows], dtype=object) for k in named},
                        columns=[header[k] for k in named], index=pd.RangeIndex(len(rows)))


def _read_bytes(name: str, limit: int) -> bytes:
    """The file's bytes, gzip decompressed as the CLI decompresses it (every member in turn,
    bytes after the last one that start no member ignored), at most ``limit``: a larger file, a
    truncated or corrupt gzip stream raise DataFileError (``gzip.decompress`` raised EOFError,
    and inflated a file of any size into memory first)."""
    size_text = "2 GiB" if limit >= MAX_FILE_BYTES else f"{limit} bytes"

    def refuse(message: str) -> DataFileError:
        return DataFileError(f"{name}: {message}", name, None, None, "unreadable")

    with open(name, "rb") as f:
        if os.fstat(f.fileno()).st_size > limit:
            raise refuse(f"file larger than {size_text} is not supported")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise refuse(f"file larger than {size_text} is not supported")
    if data[:2] != b"\x1f\x8b":
        return data
    out = bytearray()
    rest = data
    while rest[:2] == b"\x1f\x8b":
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += member.decompress(rest, limit + 1 - len(out))
        except zlib.error:
            raise refuse("cannot read or decompress: invalid or truncated gzip data") from None
        if len(out) > limit or member.unconsumed_tail:
            raise refuse(f"file decompresses to more than {size_text}, which is not supported")
        if not member.eof:
            raise refuse("cannot read or decompress: invalid or truncated gzip data")
        rest = member.unused_data
    return bytes(out)


def _refuse_another_separator(name: str, line: int, header: List[str]) -> None:
    """A header of one field holding ';', tabs or '|' (a spreadsheet's export in a locale with a
    decimal comma): refused as the CLI refuses it, not sent as one column of every field."""
    if len(header) != 1:
        return
    separator = next((s for s in (";", "\t", "|") if s in header[0]), None)
    if separator is not None:
        shown = "tab" if separator == "\t" else f"'{separator}'"
        raise DataFileError(f"{name}:{line}: the header is one field that holds {shown} characters: the file looks "
                            f"{shown}-separated; readmit reads comma-separated files (RFC 4180)", name, line, None, "malformed")


def _refuse_lone_carriage_returns(name: str, line: int, header: List[str], lone_cr: str) -> None:
    """A header holding a carriage return that ends no line: a file whose lines end with CR alone
    (classic Mac OS), refused as the CLI refuses it (it is one line there, not rows)."""
    field = next((k for k, h in enumerate(header) if lone_cr in h), None)
    if field is not None:
        raise DataFileError(f"{name}:{line}: header field {field + 1} holds a carriage return that ends no line: lines ended "
                            "by a carriage return alone (classic Mac OS) are not line breaks in a CSV file; convert the file "
                            "to LF or CRLF line endings", name, line, None, "malformed")


def _refuse_a_name_twice(name: str, line: int, header: List[str]) -> None:
    """A column name twice in the header: which one to read would be a guess; refused as the CLI
    refuses it (unnamed columns may repeat)."""
    first: dict = {}
    for k, h in enumerate(header):
        if h and h in first:
            raise DataFileError(f"{name}:{line}: column '{h}': header names column '{h}' twice (fields {first[h] + 1} "
                                f"and {k + 1}): rename or drop one", name, line, h, "malformed")
        first.setdefault(h, k)


def _where(column: Any) -> str:
    return f"column '{column}': " if column is not None else ""


def _locate(data: bytes, offset: int):
    """Where byte ``offset`` of ``data`` (the first invalid UTF-8 byte) is, as the CLI says it:
    (line on which its record starts, 0-based field, column name or None in the header, 1-based
    byte within the field). The valid text before it is parsed with a one-byte stand-in for it."""
    reader = csv.reader(io.StringIO(data[:offset].decode("utf-8") + "Z", newline=""))
    records, line = [], 1
    for record in reader:
        records.append((line, record))
        line = reader.line_num + 1
    start, partial = records[-1]
    header = next((r for _, r in records[:-1] if r), None)
    field = len(partial) - 1
    column = header[field] if header is not None and field < len(header) else None
    return start, field, column, len(partial[-1].encode("utf-8"))


def read_csv(path: Union[str, "os.PathLike[str]"], **kwargs: Any) -> pd.DataFrame:
    """Reads a CSV (gzip allowed) through pandas with every column as text, exactly as written.

    This is ``pandas.read_csv(path, dtype=str, keep_default_na=False, na_values=[])`` (keyword
    arguments override those): no text becomes missing here, so a level written ``None`` or
    ``NA`` stays a level and numbers keep their written form. Which texts mean "missing" is the
    business of the model's dataset spec, applied by the daemon (for Diabetes 130, ``?`` and
    empty fields are missing there). Unlike :func:`read_records` it takes pandas' options and
    pandas' leniency (a short row is padded with empty fields); prefer :func:`read_records` to
    get the CLI's reading.
    """
    options = {"dtype": str, "keep_default_na": False, "na_values": []}
    options.update(kwargs)
    return pd.read_csv(path, **options)
