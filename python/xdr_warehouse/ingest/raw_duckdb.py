"""The raw layer in DuckDB: what dbt's sources (``models/staging/xdr/_xdr__sources.yml``) read.

Ingest writes, in schema ``raw`` of the build database:

- ``raw.xdr_files``: one row per version of an input file (path + "size:mtime"
  signature) ever ingested, with its header, the position of each xDR column,
  how it is read and whether it is in the current input (``is_current``);
  written with bound parameters only;
- ``raw.xdr_line_notes``: lines the pre-scan re-encoded or found too long;
- ``raw.xdr_lines``: a view with one row per line of every current text
  export (``file_id``, ``line``): DuckDB's CSV reader with one column, no
  quoting, so a line is always exactly one record;
- ``raw.xdr_parquet_rows``: a view with one row per row of every current
  Parquet export, the 55 columns under their staging names, numbers as DOUBLE;
- ``audit.applied_file_versions``: the file versions the marts reflect, which
  the last complete passing dbt build writes (the incremental models compare it
  with the current input to find what changed).

The views read the landing links (hex names), so no input file name is ever
part of SQL; the landing folder's own path goes through
:func:`xdr_warehouse.sql.quote_literal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from xdr_warehouse.columns import RAW_COLUMNS
from xdr_warehouse.ingest.inputs import NUMERIC_KINDS, InputFile
from xdr_warehouse.ingest.prescan import MAX_LINE_BYTES, READER_SEPARATOR, LineNote
from xdr_warehouse.sql import quote_identifier, quote_literal

SCHEMA = "raw"

FILES_DDL = f"""
create table if not exists {SCHEMA}.xdr_files (
    file_id integer primary key,
    source_file varchar not null,
    file_name varchar not null,
    file_format varchar not null,
    size_bytes bigint not null,
    modified_at timestamp not null,
    file_signature varchar not null,
    header varchar[] not null,
    field_positions integer[] not null,
    field_count integer not null,
    unknown_columns varchar[] not null,
    reader varchar not null,
    read_path varchar not null,
    new_line varchar,
    record_count bigint,
    ingested_at timestamp not null,
    is_current boolean not null
)
"""
#: The file versions the marts reflect: written by the last complete dbt build
#: that passed (macro xdr_record_build), read to find what changed since.
STATE_DDL = """
create table if not exists audit.applied_file_versions (file_id integer primary key)
"""
NOTES_DDL = f"""
create table if not exists {SCHEMA}.xdr_line_notes (
    file_id integer not null,
    line_number bigint not null,
    note varchar not null,
    detail varchar not null,
    raw_text varchar
)
"""


@dataclass(frozen=True)
class LandedFile:
    """An input file and the id of its version in ``raw.xdr_files``."""

    file_id: int
    file: InputFile
    is_new: bool


def assign_file_ids(
    files: Sequence[InputFile], known: dict[tuple[str, str], int], next_id: int
) -> list[LandedFile]:
    """Each file with the id of its version: the known one, else ``next_id`` onwards (new)."""
    known = dict(known)
    landed: list[LandedFile] = []
    for file in files:
        existing = known.get(file.version_key)
        if existing is not None:
            landed.append(LandedFile(existing, file, is_new=False))
            continue
        landed.append(LandedFile(next_id, file, is_new=True))
        known[file.version_key] = next_id
        next_id += 1
    return landed


def note_rows(landed: Sequence[LandedFile]) -> list[tuple]:
    """The ``xdr_line_notes`` rows of ``landed``: (file_id, line_number, note, detail, raw_text)."""
    return [
        (x.file_id, n.line_number, n.note, n.detail, n.raw_text)
        for x in landed
        for n in x.file.notes
    ]


def _register(con: duckdb.DuckDBPyConnection, files: Sequence[InputFile]) -> list[LandedFile]:
    """Give every file version an id, inserting the versions not seen before."""
    known = {
        (source, signature): file_id
        for file_id, source, signature in con.execute(
            f"select file_id, source_file, file_signature from {SCHEMA}.xdr_files"
        ).fetchall()
    }
    landed = assign_file_ids(files, known, max(known.values(), default=0) + 1)
    now = datetime.now()
    new = [item for item in landed if item.is_new]
    if new:
        rows = pa.table(
            {
                "file_id": pa.array([x.file_id for x in new], pa.int32()),
                "source_file": [x.file.source_file for x in new],
                "file_name": [x.file.file_name for x in new],
                "file_format": [x.file.file_format for x in new],
                "size_bytes": pa.array([x.file.size_bytes for x in new], pa.int64()),
                "modified_at": pa.array([x.file.modified_at for x in new], pa.timestamp("us")),
                "file_signature": [x.file.file_signature for x in new],
                "header": pa.array([list(x.file.header) for x in new], pa.list_(pa.string())),
                "field_positions": pa.array(
                    [list(x.file.field_positions) for x in new], pa.list_(pa.int32())
                ),
                "field_count": pa.array([len(x.file.header) for x in new], pa.int32()),
                "unknown_columns": pa.array(
                    [list(x.file.unknown_columns) for x in new], pa.list_(pa.string())
                ),
                "reader": [x.file.reader for x in new],
                "read_path": [str(x.file.read_path) for x in new],
                "new_line": [x.file.new_line for x in new],
                "record_count": pa.array([x.file.record_count for x in new], pa.int64()),
                "ingested_at": pa.array([now] * len(new), pa.timestamp("us")),
                "is_current": [True] * len(new),
            }
        )
        con.register("new_xdr_files", rows)
        con.execute(f"insert into {SCHEMA}.xdr_files by name select * from new_xdr_files")
        con.unregister("new_xdr_files")
        notes = note_rows(new)
        if notes:
            con.executemany(f"insert into {SCHEMA}.xdr_line_notes values (?, ?, ?, ?, ?)", notes)
    old = [(x.file.new_line, x.file_id) for x in landed if not x.is_new]
    if old:  # versions landed before new_line was recorded get it
        con.executemany(
            f"update {SCHEMA}.xdr_files set new_line = ? where file_id = ? and new_line is null",
            old,
        )
    con.execute(
        f"update {SCHEMA}.xdr_files set is_current = list_contains(?, file_id)",
        [[x.file_id for x in landed]],
    )
    return landed


def _lines_select(item: LandedFile) -> str:
    new_line = "\\r\\n" if item.file.new_line == "\r\n" else "\\n"
    positions = ", ".join(str(p) for p in item.file.field_positions)
    return (
        f"select {item.file_id}::integer as file_id, [{positions}]::integer[] as field_positions, "
        f"{len(item.file.header)}::integer as field_count, line "
        f"from read_csv({quote_literal(str(item.file.read_path))}, "
        "columns = {'line': 'VARCHAR'}, header = true, auto_detect = false, "
        f"delim = chr({ord(READER_SEPARATOR)}), quote = '', escape = '', "
        f"new_line = {quote_literal(new_line)}, compression = 'auto', strict_mode = false, "
        f"max_line_size = {MAX_LINE_BYTES + 2}, buffer_size = {2 * MAX_LINE_BYTES + 4})"
    )


def _raw_type(kind: str) -> str:
    return "double" if kind in NUMERIC_KINDS else "varchar"


def _parquet_select(item: LandedFile) -> str:
    by_position = {
        position: column
        for column, position in zip(RAW_COLUMNS, item.file.field_positions, strict=True)
    }
    aliases = [
        quote_identifier(by_position[p].name if p in by_position else f"extra_{p}")
        for p in range(1, len(item.file.header) + 1)
    ]
    columns = ", ".join(
        f"cast({quote_identifier(c.name)} as {_raw_type(c.kind)}) as {quote_identifier(c.name)}"
        for c in RAW_COLUMNS
    )
    return (
        f"select {item.file_id}::integer as file_id, file_row_number + 1 as record_number, "
        f"{columns} from read_parquet({quote_literal(str(item.file.read_path))}, "
        f"file_row_number = true) as parquet_file({', '.join(aliases)})"
    )


def _empty_parquet_select() -> str:
    columns = ", ".join(
        f"null::{_raw_type(c.kind)} as {quote_identifier(c.name)}" for c in RAW_COLUMNS
    )
    return f"select null::integer as file_id, null::bigint as record_number, {columns} where false"


def _create_views(con: duckdb.DuckDBPyConnection, landed: Sequence[LandedFile]) -> None:
    lines = [_lines_select(x) for x in landed if x.file.reader == "lines"]
    parquet = [_parquet_select(x) for x in landed if x.file.reader == "parquet"]
    lines_sql = (
        "\nunion all\n".join(lines)
        or "select null::integer as file_id, null::integer[] as field_positions, "
        "null::integer as field_count, null::varchar as line where false"
    )
    parquet_sql = "\nunion all\n".join(parquet) or _empty_parquet_select()
    con.execute(f"create or replace view {SCHEMA}.xdr_lines as\n{lines_sql}")
    con.execute(f"create or replace view {SCHEMA}.xdr_parquet_rows as\n{parquet_sql}")


def create_raw_layer(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, tables and (empty) views when they do not exist yet."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute("create schema if not exists audit")
    con.execute(FILES_DDL)
    # raw layers landed before new_line was recorded: their versions are read again once
    con.execute(f"alter table {SCHEMA}.xdr_files add column if not exists new_line varchar")
    con.execute(NOTES_DDL)
    con.execute(STATE_DDL)
    views = {
        name
        for (name,) in con.execute(
            "select view_name from duckdb_views() where schema_name = ?", [SCHEMA]
        ).fetchall()
    }
    if not {"xdr_lines", "xdr_parquet_rows"} <= views:
        _create_views(con, [])


def known_versions(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], InputFile]:
    """The file versions landed before, by (source file, signature), as ingest found them.

    A version whose file the engine reads (the landing link or converted copy) is
    gone, or that was landed before ``new_line`` was recorded, is left out: it is
    read again. Ingest takes the others as they are, so a daily run reads only
    the new and changed files, not every file of the input again. Creates (or
    brings up to date) the raw layer first.
    """
    create_raw_layer(con)
    notes: dict[int, list[LineNote]] = {}
    for file_id, line_number, note, detail, raw_text in con.execute(
        f"select file_id, line_number, note, detail, raw_text from {SCHEMA}.xdr_line_notes"
        " order by file_id, line_number"
    ).fetchall():
        notes.setdefault(file_id, []).append(LineNote(line_number, note, detail, raw_text))
    known = {}
    for row in con.execute(
        "select file_id, source_file, file_name, file_format, size_bytes, modified_at,"
        " file_signature, header, field_positions, unknown_columns, reader, read_path,"
        f" new_line, record_count from {SCHEMA}.xdr_files where new_line is not null"
    ).fetchall():
        file_id, source, name, fmt, size, modified, signature, header, positions = row[:9]
        unknown, reader, read_path, new_line, records = row[9:]
        if not Path(read_path).exists():
            continue
        known[(source, signature)] = InputFile(
            source_file=source,
            file_name=name,
            file_format=fmt,
            size_bytes=size,
            modified_at=modified,
            file_signature=signature,
            header=tuple(header),
            field_positions=tuple(positions),
            unknown_columns=tuple(unknown),
            reader=reader,
            read_path=Path(read_path),
            new_line=new_line,
            record_count=records,
            notes=tuple(notes.get(file_id, ())),
        )
    return known


def land(con: duckdb.DuckDBPyConnection, files: Sequence[InputFile]) -> list[LandedFile]:
    """Record ``files`` as the current input and point the raw views at them (one transaction)."""
    create_raw_layer(con)
    con.execute("begin transaction")
    try:
        landed = _register(con, files)
        _create_views(con, landed)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return landed
