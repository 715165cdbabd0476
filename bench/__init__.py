"""Benchmarks: each module prints its figures as result rows; ``bench.report`` collects them.

Run them as modules from the repository root, e.g. ``.venv/bin/python -m bench.api_calls``;
``bash bench/run_all.sh`` runs every one and writes ``bench/RESULTS.md``.

Importing the package sets the Lambda's environment (credentials for the local doubles,
region, tracing off, Powertools logging at ERROR), as ``tests/conftest.py`` does for the
tests: the handler module reads it when it is imported, and every benchmark module imports
the handler after this. ``ORIGINAL_ENVIRONMENT`` is the environment before that, for the
commands ``bench.report`` runs (the tests assert log lines that ERROR would hide).
"""

import os
from typing import Final

from bench._common import LAMBDA_ENV

ORIGINAL_ENVIRONMENT: Final = dict(os.environ)
os.environ.update(LAMBDA_ENV)
