"""Rendering the report and writing its folder; :func:`build_report` runs the whole.

The HTML is the Jinja2 template ``templates/report.html.j2`` filled with the
context of :mod:`~xdr_warehouse.report.context`; the folder is written through
:mod:`xdr_warehouse.atomic` (see the package doc for what a reader and a failure
see).
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from xdr_warehouse import atomic
from xdr_warehouse.report.context import (
    CHARTS_DIR,
    STATUS_COMPLETE,
    STATUS_NO_DATA,
    Chart,
    published_at,
    report_context,
)
from xdr_warehouse.report.errors import ReportError
from xdr_warehouse.report.marts import load_marts
from xdr_warehouse.report.names import NO_DATA_FILE, REPORT_FILE
from xdr_warehouse.report.stored_failures import read_stored_failures

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"


def render_html(context: dict[str, object]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE).render(**context)


def report_status(path: Path) -> str | None:
    """The status marker of an existing report file, or None when there is none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    for status in (STATUS_COMPLETE, STATUS_NO_DATA):
        if f'<meta name="xdr-report-status" content="{status}">' in head:
            return status
    return "unknown"


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a folder holding anything but report files."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ReportError(f"{out_dir} is not a folder: set XDR_REPORT_DIR to a folder")
    ours = {REPORT_FILE, NO_DATA_FILE, CHARTS_DIR}
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in ours)
    if foreign:
        raise ReportError(
            f"{out_dir} holds files the report did not write ({', '.join(foreign[:3])}); "
            "set XDR_REPORT_DIR to a folder of its own"
        )


def _write_folder(out_dir: Path, html: str, chart_list: list[Chart]) -> Path:
    """Build the report folder beside out_dir, then swap it into place."""
    with atomic.replace_folder(out_dir) as folder:
        if chart_list:
            (folder / CHARTS_DIR).mkdir()
            for chart in chart_list:
                (folder / chart.path).write_bytes(chart.png)
        (folder / REPORT_FILE).write_text(html, encoding="utf-8")
    return out_dir / REPORT_FILE


def build_report(db_path: Path, out_dir: Path, build_db: Path | None = None) -> Path:
    """Write the report of the published marts in db_path into out_dir; return the HTML path.

    With customer data: a complete report replaces out_dir atomically. Without
    (empty marts): a no-data report, written as engagement_report.html only when
    no complete report is there, else as engagement_report_no_data.html beside it.
    ``build_db``, when given, is the build database whose stored test failures
    (schema test_failures) the data-quality section counts, read-only.
    """
    db_path, out_dir = Path(db_path), Path(out_dir)
    _check_replaceable(out_dir)
    marts = load_marts(db_path)
    context, chart_list = report_context(marts, read_stored_failures(build_db))
    context["source_db"] = db_path.name
    context["published_at"] = published_at(marts.publish_info)
    html = render_html(context)
    if marts.has_data:
        return _write_folder(out_dir, html, chart_list)
    if report_status(out_dir / REPORT_FILE) == STATUS_COMPLETE:
        target = out_dir / NO_DATA_FILE
        atomic.write_file(target, html)
        return target
    return _write_folder(out_dir, html, [])
