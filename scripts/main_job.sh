#!/usr/bin/env bash
# The main job: set up .venv on first use (scripts/bootstrap.sh), then prepare the brain-MRI data, train and
# evaluate PSPNet on it (python -m psp_plugin.tools.main_job; arguments are passed on, see --help).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/bootstrap.sh"
cd "$repo"
exec "$repo/.venv/bin/python" -m psp_plugin.tools.main_job "$@"
