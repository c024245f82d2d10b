"""A Spark driver in a process of its own, for the standalone cluster test.

``python cluster_driver.py SETTINGS_JSON``: connects to the settings' master,
waits for the two executors, runs a job that returns the pids of the Python
workers that ran its tasks, prints one JSON line, then keeps the application
(and its executors) running until a line arrives on stdin.
"""

from __future__ import annotations

import json
import os
import sys
import time

from xdr_warehouse.settings import Settings
from xdr_warehouse.spark.session import spark_session


def main() -> None:
    settings = Settings.from_env({}, **json.loads(sys.argv[1]))
    spark = spark_session(settings)
    context = spark.sparkContext
    deadline = time.monotonic() + 90
    while context._jsc.sc().getExecutorMemoryStatus().size() < 3:  # 2 executors + the driver
        if time.monotonic() > deadline:
            raise SystemExit("the executors did not register within 90 s")
        time.sleep(0.5)
    pids = context.parallelize(range(100), 4).map(lambda _: os.getpid()).distinct().collect()
    print(json.dumps({"driver_pid": os.getpid(), "task_pids": sorted(pids)}), flush=True)
    sys.stdin.readline()
    spark.stop()


if __name__ == "__main__":
    main()
