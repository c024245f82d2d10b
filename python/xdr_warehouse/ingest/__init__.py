"""Ingest: find and check the input files, and land them in the raw layer dbt reads.

This is the EL of ELT; dbt does the T. ``xdr ingest`` (and the first step of
``xdr run``) expands the input setting into files (:mod:`.files`), reads and
checks each file's header and bytes (:mod:`.headers`, :mod:`.prescan`,
converting XLSX and text stored in Parquet once, :mod:`.xlsx`), and records
every file version in the raw layer of the engine (:mod:`.raw_duckdb`). dbt's
sources point at that raw layer; the staging models read only the file
versions that are not loaded yet.

Problems with the input stop here, before any model runs, with one line that
names the file (:class:`XdrInputError`).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdr_warehouse.ingest.files import XdrInputError, file_format, resolve_input_paths
from xdr_warehouse.ingest.inputs import InputFile, inspect_file, inspect_inputs
from xdr_warehouse.ingest.raw_duckdb import LandedFile

__all__ = [
    "IngestResult",
    "InputFile",
    "LandedFile",
    "XdrInputError",
    "file_format",
    "inspect_file",
    "inspect_inputs",
    "resolve_input_paths",
]


@dataclass(frozen=True)
class IngestResult:
    """The current input, as landed: each file with its version id."""

    files: tuple[LandedFile, ...]

    @property
    def new_files(self) -> tuple[LandedFile, ...]:
        return tuple(x for x in self.files if x.is_new)

    def summary(self) -> str:
        size = sum(x.file.size_bytes for x in self.files) / 1e6
        return (
            f"{len(self.files)} file(s), {size:,.1f} MB; "
            f"{len(self.new_files)} new or changed since the last ingest"
        )
