#!/usr/bin/env bash
# The test command: set up .venv on first use (scripts/bootstrap.sh), check the code style (ruff, configured
# in pyproject.toml), then run the whole test suite.
# Extra arguments go to pytest (e.g. `bash scripts/run_tests.sh tests/models -x`).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/bootstrap.sh"
cd "$repo"
echo "[run_tests] ruff check (style: pyproject.toml [tool.ruff])"
"$repo/.venv/bin/ruff" check "$repo"
exec "$repo/.venv/bin/python" -m pytest --durations=15 "$@"
