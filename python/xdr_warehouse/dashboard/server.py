"""How the dashboard server starts: ``xdr dashboard`` (and ``make dashboard``) run this.

Streamlit serves :mod:`xdr_warehouse.dashboard.app` on 127.0.0.1 only, headless,
without usage statistics or file watching, on the port of the settings
(XDR_DASHBOARD_PORT, default 8501, Streamlit's own default), reading the
published file of the settings (XDR_PUBLISHED_DB) read-only.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_command(published_db: Path, port: int) -> list[str]:
    """The command line that serves the dashboard for ``published_db`` on 127.0.0.1:``port``."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
        "--", "--published-db", str(published_db),
    ]  # fmt: skip
