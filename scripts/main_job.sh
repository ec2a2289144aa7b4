#!/usr/bin/env bash
# The main job: set up .venv on first use (scripts/bootstrap.sh), then write the brain-MRI slices
# (data/mni152_source) and run `psp-plugin fit` on them with a 13-minute budget (psp-plugin main-job;
# arguments are passed on, see --help). Report: work_dirs/main_job/report/report.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/bootstrap.sh"
cd "$repo"
exec "$repo/.venv/bin/python" -m psp_plugin.cli main-job "$@"
