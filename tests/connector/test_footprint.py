"""A node worker's idle memory: modules it loads only when the work needs them (pandas costs ~40 MB per worker)."""

import subprocess
import sys


def test_serving_and_collection_modules_do_not_load_pandas_or_spark():
    code = ("import sys, connector.app, connector.serve, hub.collection, hub.collection.validate; "
            "print(sorted(m for m in ('pandas', 'pyspark') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
