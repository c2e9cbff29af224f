"""readmit.read_records reads raw records as `readmit score --records` does (no daemon needed)."""
import gzip

import pytest

import readmit

BOM = b"\xef\xbb\xbf"


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_line_endings_and_byte_order_mark_read_the_same(tmp_path):
    rows = [b"id,race,n", b"1,None,3", b"", b"2,?,", b'3,"Mar,tian ""x""",12']
    lf = b"\n".join(rows) + b"\n"
    crlf = b"\r\n".join(rows) + b"\r\n"
    frames = [readmit.read_records(write(tmp_path, f"{k}.csv", data))
              for k, data in enumerate([lf, crlf, BOM + crlf, BOM + crlf[:-2]])]
    frames.append(readmit.read_records(write(tmp_path, "z.csv.gz", gzip.compress(BOM + crlf))))
    for f in frames:
        assert list(f.columns) == ["id", "race", "n"]
        assert f.values.tolist() == [["1", "None", "3"], ["2", "?", ""], ["3", 'Mar,tian "x"', "12"]]
        assert all(dtype == object for dtype in f.dtypes)


def test_quoted_fields_keep_their_line_breaks(tmp_path):
    f = readmit.read_records(write(tmp_path, "q.csv", b'a,b\r\n"two\r\nlines",x\r\n'))
    assert f["a"].tolist() == ["two\r\nlines"]


def test_unnamed_columns_are_left_out_and_a_name_twice_is_refused(tmp_path):
    # A spreadsheet's trailing commas: never read by the CLI; kept, their empty names failed
    # score_records ("column '' appears twice").
    f = readmit.read_records(write(tmp_path, "trail.csv", b"a,,b,,\n1,x,2,,\n"))
    assert list(f.columns) == ["a", "b"] and f.values.tolist() == [["1", "2"]]
    assert len(readmit.read_records(write(tmp_path, "none.csv", b",,\n1,2,\n3,4,\n"))) == 2  # the rows stay
    with pytest.raises(readmit.DataFileError) as e:
        readmit.read_records(write(tmp_path, "dup.csv", b"\na,race,race,b\n1,2,3,4\n"))
    assert (e.value.line, e.value.field, e.value.kind) == (2, "race", "malformed")
    assert str(e.value).endswith(":2: column 'race': header names column 'race' twice (fields 2 and 3): rename or drop one")


def test_a_lone_carriage_return_is_data_as_in_the_cli(tmp_path):
    # The csv module ended a line there: 'x\ry' was two records (a row of 1 field).
    f = readmit.read_records(write(tmp_path, "cr.csv", b'a,b\r\n1,x\ry\r\n2,"q\rr"\r\n3,z\r'))
    assert f.values.tolist() == [["1", "x\ry"], ["2", "q\rr"], ["3", "z"]]


@pytest.mark.parametrize("data, line, field, kind, text", [
    (b"a,b\n1,2\n3,4\xff5\n6,\xc3\n", 3, "b", "bad_encoding",
     "column 'b': field 2 is not valid UTF-8 (byte 0xFF at byte 2 of the field)"),
    (b"a,\xffb\n1,2\n", 1, None, "bad_encoding", "header field 2 is not valid UTF-8 (byte 0xFF at byte 1 of the field)"),
    (b"a,b\n1,2\n3\n4,5,6\n", 3, None, "malformed", "row has 1 fields, the header has 2"),
    (b'a,b\n1,2\n"x"y,2\n', 3, None, "malformed", None),
    (b"enc;pat;age\n1;2;3\n", 1, None, "malformed",
     "the header is one field that holds ';' characters: the file looks ';'-separated; readmit reads comma-separated "
     "files (RFC 4180)"),
    (b"\nenc\tpat\n1\t2\n", 2, None, "malformed",
     "the header is one field that holds tab characters: the file looks tab-separated; readmit reads comma-separated "
     "files (RFC 4180)"),
    # Lines ended by a carriage return alone (classic Mac OS): one line for the CLI, refused as such
    # (the csv module read them as rows the CLI would not score).
    (b"enc,age\r1,2\r3,4\r", 1, None, "malformed",
     "header field 2 holds a carriage return that ends no line: lines ended by a carriage return alone (classic Mac "
     "OS) are not line breaks in a CSV file; convert the file to LF or CRLF line endings"),
    (b"a,b\r\n1,2\r\n3," + b"7" * ((1 << 20) + 1) + b"\r\n", 3, "b", "field_too_long",
     "column 'b': field 2 is 1048577 bytes long, over the limit of 1048576 bytes (1 MiB)"),
])
def test_bad_files_name_path_first_bad_line_and_column(tmp_path, data, line, field, kind, text):
    path = write(tmp_path, "bad.csv", data)
    with pytest.raises(readmit.DataFileError) as e:
        readmit.read_records(path)
    assert isinstance(e.value, ValueError)
    assert (e.value.path, e.value.line, e.value.field, e.value.kind) == (str(path), line, field, kind)
    if text:
        assert str(e.value) == f"{path}:{line}: {text}"


def test_a_field_at_the_limit_is_read(tmp_path):
    f = readmit.read_records(write(tmp_path, "big.csv", b"a,b\n1,\"" + b"7" * (1 << 20) + b"\"\n"))
    assert len(f["b"].iloc[0]) == 1 << 20


def test_gzip_is_read_as_the_cli_reads_it(tmp_path):
    text = b"a,b\n1,2\n3,4\n"
    whole = gzip.compress(text[:8]) + gzip.compress(text[8:])
    # Members one after another; bytes after the last that start no member are ignored.
    assert readmit.read_records(write(tmp_path, "two.csv.gz", whole + b"\0\0"))["b"].tolist() == ["2", "4"]
    # A cut download is an error (gzip.decompress raised EOFError), as the CLI says it.
    cut = write(tmp_path, "cut.csv.gz", whole[:-5])
    with pytest.raises(readmit.DataFileError) as e:
        readmit.read_records(cut)
    assert (e.value.kind, str(e.value)) == ("unreadable", f"{cut}: cannot read or decompress: invalid or truncated gzip data")
    # The size limit (the CLI's 2 GiB), before the file is read or inflated past it.
    from readmit.io import _read_bytes
    long = b"a,b\n" + b"1,2\n" * 50_000  # 200,004 bytes; its gzip, about 1 KB
    packed = str(write(tmp_path, "long.csv.gz", gzip.compress(long)))
    assert _read_bytes(packed, len(long)) == long
    with pytest.raises(readmit.DataFileError, match="file decompresses to more than 200003 bytes, which is not supported"):
        _read_bytes(packed, len(long) - 1)
    plain = str(write(tmp_path, "p.csv", text))
    assert _read_bytes(plain, len(text)) == text
    with pytest.raises(readmit.DataFileError, match="file larger than 11 bytes is not supported"):
        _read_bytes(plain, len(text) - 1)
