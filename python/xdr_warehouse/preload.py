"""Import the cluster models' libraries while DuckDB reads the input.

A build that fits a cluster model imports scikit-learn and kneed inside its
dbt Python models: about 2.5 s of one core, on the build's critical path
(samples -> cluster model -> labels -> summary, and the elbow after the model).
The job starts :class:`Preload` when dbt starts the staging model, whose
DuckDB query leaves the Python interpreter free for seconds, so the imports are
done when the cluster model needs them. At 1M records this took 2.1 s off the
job (medians of 6 alternating runs, 28.6 -> 26.4 s). Builds that keep the
stored model import neither, so the job does not preload for them.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Sequence

log = logging.getLogger("xdr_warehouse")

#: What the dbt Python models engagement_cluster_model and engagement_elbow_curve import.
CLUSTERING_MODULES = ("sklearn.cluster", "kneed")


class Preload:
    """Import ``modules`` once, in a background thread (:meth:`start` may be called
    again: it starts one thread only). A failed import is left to the code that
    needs the module, which reports it."""

    def __init__(self, modules: Sequence[str] = CLUSTERING_MODULES) -> None:
        self.modules = tuple(modules)
        self.thread: threading.Thread | None = None
        self.imported: list[str] = []

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="xdr-preload", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        for name in self.modules:
            try:
                importlib.import_module(name)
            except Exception as err:  # noqa: BLE001 - the model's own import reports it
                log.info("preload of %s failed: %s", name, err)
            else:
                self.imported.append(name)
        log.info("preloaded %s in %.1f s", ", ".join(self.imported) or "nothing",
                 time.perf_counter() - started)  # fmt: skip

    def join(self, timeout: float | None = None) -> None:
        """Wait for the imports (so none is cut off at interpreter exit)."""
        if self.thread is not None:
            self.thread.join(timeout)
