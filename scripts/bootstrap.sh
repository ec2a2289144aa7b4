#!/usr/bin/env bash
# Set up the project's isolated environment in .venv/ without a human:
#   torch (CPU wheel, unless a torch is already there) -> mmcv 2.1.0 built with its compiled ops
#   -> MMSegmentation 1.2.2 / MMEngine 0.10.7 -> psp_plugin (editable) with all its extras
#   (`.[all]`: medical, geo, export, bench, report, mim, tests; see setup.py).
# First run: ~19 min on 2 cores (17 of them the mmcv build); later runs: a few seconds.
# Environment: PSP_PYTHON (interpreter for the venv, default python3), PSP_VENV (default <repo>/.venv).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${PSP_VENV:-$repo/.venv}
py=$venv/bin/python
logs=$venv/bootstrap-logs
stamp_file=$venv/.psp_plugin-bootstrap-stamp

say() { printf '[bootstrap %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# Run a command with its output in a log file, printing a heartbeat every 30 s.
run_logged() {
  local log=$1; shift
  mkdir -p "$logs"
  "$@" >"$log" 2>&1 &
  local pid=$! start=$SECONDS next=30
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS - start >= next )); then
      say "  ... still running ($(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s; log: $log)"
      next=$(( next + 30 ))
    fi
  done
  if ! wait "$pid"; then
    say "FAILED: $*"; say "last lines of $log:"; tail -n 40 "$log"; exit 1
  fi
}

stamp=$(cat "$repo/setup.py" "$repo/scripts/bootstrap.sh" | sha256sum | cut -d' ' -f1)
if [[ -f $stamp_file && $(cat "$stamp_file") == "$stamp" ]] \
   && "$py" -c 'import mmcv._ext, mmseg, psp_plugin' >/dev/null 2>&1; then
  say "environment ready: $venv (delete $stamp_file to force a re-check)"
  exit 0
fi

if [[ ! -x $py ]]; then
  base_python=${PSP_PYTHON:-python3}
  say "creating virtual environment $venv with $($base_python --version 2>&1)"
  "$base_python" -c 'import sys; assert sys.version_info >= (3, 9), "Python >= 3.9 is required"'
  "$base_python" -m venv "$venv"
fi
pip=("$py" -m pip --disable-pip-version-check)

if "$py" -c 'import torch' >/dev/null 2>&1; then
  say "torch $("$py" -c 'import torch; print(torch.__version__)') already present: keeping it"
else
  say "installing torch==2.13.0 (CPU build; GPU users: see README 'Install for GPU users')"
  run_logged "$logs/torch.log" "${pip[@]}" install torch==2.13.0
fi

if "$py" -c 'import mmcv, mmcv._ext; assert mmcv.__version__ == "2.1.0"' >/dev/null 2>&1; then
  say "mmcv 2.1.0 with compiled ops already present"
else
  say "installing build tools for mmcv (setuptools>=77.0.3,<81 keeps pkg_resources; ninja compiles in parallel)"
  run_logged "$logs/build-tools.log" "${pip[@]}" install 'setuptools>=77.0.3,<81' wheel ninja numpy
  say "building mmcv 2.1.0 with compiled ops (MMCV_WITH_OPS=1): ~17 min on 2 cores the first time,"
  say "seconds later (pip's wheel cache)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    run_logged "$logs/mmcv.log" "${pip[@]}" install --no-build-isolation mmcv==2.1.0
  "$py" -c 'import mmcv._ext' || { say "mmcv was installed but mmcv._ext does not import; see $logs/mmcv.log"; exit 1; }
fi

say "installing psp_plugin (editable) with MMSegmentation 1.2.2, MMEngine 0.10.7 and all extras (.[all])"
run_logged "$logs/plugin.log" "${pip[@]}" install -e "$repo[all]"

"$py" - <<'PY'
import mmcv, mmcv._ext, mmengine, mmseg, torch
import psp_plugin
print(f'[bootstrap] ready: torch {torch.__version__}, mmcv {mmcv.__version__} (ops), '
      f'mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, psp_plugin {psp_plugin.__version__}')
PY
echo "$stamp" > "$stamp_file"
