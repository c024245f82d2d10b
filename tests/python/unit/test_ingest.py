"""Ingest: finding the input files, reading their headers, the byte pre-scan, the
conversions, and what the raw layer records. No dbt here."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import duckdb
import pytest

from xdr_warehouse.columns import RAW_CSV_HEADER, RAW_NAMES
from xdr_warehouse.generate import generate_xdr
from xdr_warehouse.ingest import XdrInputError, inspect_file, inspect_inputs, resolve_input_paths
from xdr_warehouse.ingest.headers import map_columns, read_text_header
from xdr_warehouse.ingest.prescan import MAX_LINE_BYTES, scan_text, write_clean_copy
from xdr_warehouse.ingest.raw_duckdb import known_versions, land
from xdr_warehouse.ingest.xlsx import cell_text

HEADER = ",".join(RAW_CSV_HEADER)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "xdr.csv"
    generate_xdr(path, 50, seed=2)
    return path


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- files


def test_folder_glob_and_file_resolve_to_sorted_supported_files(tmp_path: Path) -> None:
    for name in ["b.csv", "a.csv.gz", "c.parquet", "d.xlsx", "notes.md", ".hidden.csv"]:
        write(tmp_path / "in" / name, b"x")
    write(tmp_path / "in" / "sub" / "e.txt", b"x")
    names = [p.name for p in resolve_input_paths(str(tmp_path / "in"))]
    assert names == ["a.csv.gz", "b.csv", "c.parquet", "d.xlsx", "e.txt"]
    assert [p.name for p in resolve_input_paths(str(tmp_path / "in" / "*.csv*"))] == [
        "a.csv.gz",
        "b.csv",
    ]


def test_a_file_named_like_a_glob_is_that_file(tmp_path: Path) -> None:
    odd = write(tmp_path / "x[1]*?.csv", b"x")
    write(tmp_path / "x1ab.csv", b"y")
    assert resolve_input_paths(str(odd)) == [odd]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "XDR_PATH is empty"),
        ("no/such/file.csv", "no such file or folder"),
        ("no/such/*.csv", "matches no .csv"),
    ],
)
def test_unusable_input_settings_are_one_line(spec: str, message: str) -> None:
    with pytest.raises(XdrInputError, match=message) as err:
        resolve_input_paths(spec)
    assert "\n" not in str(err.value)


def test_unsupported_single_file(tmp_path: Path) -> None:
    with pytest.raises(XdrInputError, match="unsupported file type"):
        resolve_input_paths(str(write(tmp_path / "x.json", b"{}")))


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (HEADER.replace(",", ";").encode() + b"\n1;2\n", "separated by ';'"),
        (HEADER.replace(",", "\t").encode() + b"\n", "separated by tabs"),
        (b"PK\x03\x04\x14\x00rest of a zip", "rename it to .xlsx"),
        (b"<!DOCTYPE html><html><body>Login</body></html>\n", "HTML or XML page"),
        ("Bearer Id,Start\n".encode("utf-16"), "UTF-16"),
        (b"\n\n", "first line is empty"),
        (b"Bearer Id,Soci\xe9t\xe9\n", "not UTF-8"),
        (b"PAR1\x00\x00", "Parquet file"),
    ],
)
def test_a_header_that_is_not_a_csv_export_says_what_it_looks_like(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = write(tmp_path / "export.csv", data)
    with pytest.raises(XdrInputError, match=message) as err:
        read_text_header(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_header_names_repeat_like_duckdb_and_map_by_name(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", ("Extra," + HEADER + "\r\n").encode())
    header = read_text_header(path)
    assert header.new_line == "\r\n"
    assert header.names[0] == "Extra" and header.names.count("Dur. (ms)") == 1
    assert "Dur. (ms)_1" in header.names
    positions, unknown = map_columns("x.csv", header.names)
    assert unknown == ("Extra",)
    assert [header.names[p - 1] for p in positions][:6] == [
        "Bearer Id", "Start", "Start ms", "End", "End ms", "Dur. (ms)",
    ]  # fmt: skip
    assert header.names[positions[RAW_NAMES.index("Dur. (ms).1")] - 1] == "Dur. (ms)_1"


def test_missing_columns_are_named_with_a_close_match() -> None:
    names = tuple(n if n != "Total UL (Bytes)" else "Total UL(Bytes)" for n in RAW_CSV_HEADER)
    with pytest.raises(XdrInputError, match=r"'Total UL \(Bytes\)' \(found 'Total UL\(Bytes\)'\)"):
        map_columns("x.csv", names)


# --------------------------------------------------------------------------- pre-scan


def test_a_clean_export_needs_no_copy_and_its_lines_are_counted(export: Path) -> None:
    scan = scan_text(export)
    assert not scan.needs_copy
    assert scan.data_lines == len(export.read_bytes().splitlines()) - 1 == 51


def test_gzip_and_a_missing_final_newline_count_the_same(tmp_path: Path, export: Path) -> None:
    data = export.read_bytes().rstrip(b"\n")
    assert scan_text(write(tmp_path / "a.csv", data)).data_lines == 51
    assert scan_text(write(tmp_path / "a.csv.gz", gzip.compress(data))).data_lines == 51


def test_windows_1252_lines_are_decoded_and_noted(tmp_path: Path, export: Path) -> None:
    lines = export.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"Samsung", b"Soci\xe9t\xe9 G\xe9n\xe9rale", 1)
    lines[7] = lines[7] + b"\x81"  # a byte Windows-1252 leaves undefined
    path = write(tmp_path / "cp1252.csv", b"\n".join(lines))
    assert scan_text(path).needs_copy
    scan = write_clean_copy(path, tmp_path / "clean.csv", "\n")
    text = (tmp_path / "clean.csv").read_text(encoding="utf-8").split("\n")
    assert [n.line_number for n in scan.notes] == [4, 8]
    assert {n.note for n in scan.notes} == {"text_reencoded"}
    assert "Société Générale" in text[3] or "Soci" not in lines[3].decode("cp1252")
    assert text[7].endswith("\ufffd")
    # the export has no newline after its last line; the copy ends every line
    assert scan.data_lines == 51 and len(text) == len(lines) + 1 and text[-1] == ""


def test_control_bytes_and_too_long_lines_are_noted(tmp_path: Path, export: Path) -> None:
    lines = export.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",", b"\x1f,", 1)
    lines[5] = b"9" * (MAX_LINE_BYTES + 10)
    path = write(tmp_path / "odd.csv", b"\n".join(lines))
    assert scan_text(path).needs_copy
    scan = write_clean_copy(path, tmp_path / "clean.csv", "\n")
    notes = {n.line_number: n for n in scan.notes}
    assert notes[3].note == "text_reencoded"
    assert notes[6].note == "line_too_long"
    assert f"({MAX_LINE_BYTES + 10:,} bytes)" in notes[6].detail
    assert notes[6].raw_text == "9" * 1000
    clean = (tmp_path / "clean.csv").read_bytes().split(b"\n")
    assert clean[5] == b"" and b"\x1f" not in clean[2] and len(clean) == len(lines) + 1


# --------------------------------------------------------------------------- conversions


def test_xlsx_cells_are_written_as_the_csv_export_would() -> None:
    from datetime import datetime

    assert cell_text(None) == ""
    assert cell_text(770.0) == "770"
    assert cell_text(1.31144834608449e19) == "1.31144834608449e+19"
    assert cell_text(datetime(2019, 4, 4, 12, 1, 18)) == "2019-04-04 12:01:18"
    assert cell_text("two\nlines") == "two lines"


def test_parquet_with_numbers_as_text_is_read_as_lines(tmp_path: Path, export: Path) -> None:
    typed = tmp_path / "typed.parquet"
    generate_xdr(typed, 20, seed=3)
    as_text = tmp_path / "text.parquet"
    with duckdb.connect() as con:
        con.execute(
            "copy (select * from read_csv(?, all_varchar=true)) to ?", [str(export), str(as_text)]
        )
    assert inspect_file(typed, tmp_path / "landing").reader == "parquet"
    converted = inspect_file(as_text, tmp_path / "landing")
    assert converted.reader == "lines" and converted.read_path.suffix == ".csv"
    assert converted.record_count == 51


# --------------------------------------------------------------------------- raw layer


def test_the_raw_layer_records_versions_and_reads_only_links(tmp_path: Path, export: Path) -> None:
    folder = tmp_path / "in'; drop table x; --"
    hostile = write(folder / "o'neil; x.csv", export.read_bytes())
    landing = tmp_path / "landing"
    files = [inspect_file(hostile, landing)]
    with duckdb.connect(str(tmp_path / "b.duckdb")) as con:
        first = land(con, files)
        again = land(con, files)
        assert [x.file_id for x in first] == [x.file_id for x in again] == [1]
        assert first[0].is_new and not again[0].is_new
        views = con.execute(
            "select sql from duckdb_views() where schema_name = 'raw' and view_name = 'xdr_lines'"
        ).fetchall()[0][0]
        assert "o'neil" not in views and str(folder) not in views  # only the landing link
        assert con.execute("select count(*) from raw.xdr_lines").fetchall() == [(51,)]
        source = con.execute("select source_file from raw.xdr_files").fetchall()
        assert source == [(str(hostile.resolve()),)]


def test_a_version_landed_before_is_not_read_again(tmp_path: Path, export: Path) -> None:
    windows = export.read_bytes().replace(b"\n", b"\r\n")
    noted = windows.replace(b"undefined", b"Soci\xe9t\xe9", 1)  # a Windows-1252 note
    path = write(tmp_path / "in" / "x.csv", noted)
    landing = tmp_path / "landing"
    with duckdb.connect(str(tmp_path / "b.duckdb")) as con:
        first = inspect_inputs(str(path.parent), landing, known_versions(con))
        land(con, first)
        known = known_versions(con)
    assert first[0].notes and first[0].new_line == "\r\n"
    assert known == {first[0].version_key: first[0]}
    # the same size and modification time: taken from the raw layer, the file is not
    # read (garbage in its place would fail the header check)
    stat = path.stat()
    path.write_bytes(b"x" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert inspect_inputs(str(path.parent), landing, known) == first
    # another modification time: a new version, read again
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(XdrInputError, match="x.csv"):
        inspect_inputs(str(path.parent), landing, known)


def test_versions_landed_before_new_line_was_recorded_are_read_again_once(
    tmp_path: Path, export: Path
) -> None:
    path = write(tmp_path / "in" / "x.csv", export.read_bytes())
    landing = tmp_path / "landing"
    with duckdb.connect(str(tmp_path / "b.duckdb")) as con:
        land(con, inspect_inputs(str(path), landing))
        con.execute("alter table raw.xdr_files drop column new_line")  # an older raw layer
        assert known_versions(con) == {}
        files = inspect_inputs(str(path), landing, known_versions(con))
        assert [x.file_id for x in land(con, files)] == [1]
        assert con.execute("select new_line from raw.xdr_files").fetchall() == [("\n",)]
        assert list(known_versions(con).values()) == files
