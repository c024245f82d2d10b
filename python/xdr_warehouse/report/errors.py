"""The report's one error: raised before anything is written, with a one-line message."""

from __future__ import annotations


class ReportError(RuntimeError):
    """The report cannot be written; the message is one line saying why and what to do."""
