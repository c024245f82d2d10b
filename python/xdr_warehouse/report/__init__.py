"""The engagement report: one self-contained HTML file and its charts as PNG files.

``build_report(db_path, out_dir, build_db=None)`` reads only the public marts
(schema ``marts``) of a DuckDB file opened read-only, so the report shows what
BI users see (given the build database, it also counts the failing rows the
warning-level tests stored there, read-only), and writes::

    out_dir/engagement_report.html   the report; charts embedded as data URIs,
                                     opens from disk with no server or network
    out_dir/charts/*.png             the same charts as files

The package, by concern:

- :mod:`.marts` reads the published marts (:func:`~.marts.load_marts`);
- :mod:`.stored_failures` counts the rows the warning-level dbt tests stored in
  the build database (``build_report(..., build_db=...)``; optional);
- :mod:`.text` formats numbers and writes every sentence from them;
- :mod:`.charts` draws every chart (matplotlib, PNG bytes);
- :mod:`.context` builds the sections the template shows;
- :mod:`.build` renders ``templates/report.html.j2`` and writes the folder.

Replacing a report is atomic and never destroys a good one:

- The new report is built in a temporary sibling folder of ``out_dir``, fsynced
  and swapped into place (:func:`xdr_warehouse.atomic.replace_folder`: an
  atomic exchange on Linux, else two renames); a failure at any point removes
  the temporary folder and leaves the old report as it was.
- A missing or unreadable database, or a missing public table, raises
  :class:`ReportError` (one line) before anything is written.
- Marts without customers (e.g. a header-only input) give a short report that
  says there is no data, with the data-quality figures. It is written as
  ``engagement_report.html`` only when there is no good report there yet;
  otherwise the good report stays and the no-data report is written beside it
  as ``engagement_report_no_data.html`` (removed again by the next good report).
- ``out_dir`` is only ever replaced when it holds nothing but report files, so
  pointing XDR_REPORT_DIR at a folder with other files fails instead of
  deleting them.

The names below are imported from their modules when first used, so that
``xdr_warehouse.report.text`` (which the dashboard uses) and ``ReportError``
come without matplotlib and Jinja2.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xdr_warehouse.report.build import build_report, report_status
    from xdr_warehouse.report.context import CHARTS_DIR, STATUS_COMPLETE, STATUS_NO_DATA
    from xdr_warehouse.report.errors import ReportError
    from xdr_warehouse.report.names import NO_DATA_FILE, REPORT_FILE

#: The public API: each name and the module of this package that defines it.
_EXPORTS: dict[str, str] = {
    "build_report": "build",
    "report_status": "build",
    "REPORT_FILE": "names",
    "NO_DATA_FILE": "names",
    "CHARTS_DIR": "context",
    "STATUS_COMPLETE": "context",
    "STATUS_NO_DATA": "context",
    "ReportError": "errors",
}

__all__ = [
    "CHARTS_DIR",
    "NO_DATA_FILE",
    "REPORT_FILE",
    "STATUS_COMPLETE",
    "STATUS_NO_DATA",
    "ReportError",
    "build_report",
    "report_status",
]


def __getattr__(name: str) -> object:
    """Import a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
