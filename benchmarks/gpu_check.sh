#!/usr/bin/env bash
# The GPU check of psp_plugin, in one command, on a machine with a GPU, torch and no internet.
#
#   bash benchmarks/gpu_check.sh --prepare        # here, with internet: fill .wheels/ (git-ignored)
#   bash benchmarks/gpu_check.sh                  # on the GPU machine: install offline, check on cuda
#   bash benchmarks/gpu_check.sh --device cpu     # the same on a CPU (proves the script end to end)
#
# Install (offline, from .wheels/, into the Python that has torch): build tools, mmcv 2.1.0 built from
# its sdist with CPU ops (PSPNet's layers are plain torch; mmcv's compiled ops are only needed so that
# mmseg imports; --cuda-ops builds the CUDA kernels too and needs nvcc), mmengine 0.10.7,
# mmsegmentation 1.2.2, the plugin (editable) and pytest. Then, on the device:
#   1. pytest: the MMSeg parity test and the safe-loading tests (a malicious checkpoint is refused);
#   2. benchmarks/gpu_check.py: parity with MMSeg on the device (fp32 and TF32), the fp16 fast path;
#   3. mim train of the toy config for 20 iterations with AMP (fp16 on cuda; bf16 autocast on cpu);
#   4. mim test of the checkpoint it wrote;
#   5. benchmarks/bench_pspnet.py --device DEVICE: inference, training (AMP step) and memory sections.
# Options: --python PY (default: python3), --wheels DIR (default: <repo>/.wheels), --out DIR (default:
# $OUT/gpu_check when $OUT is set, else work_dirs/gpu_check), --skip-install, --cuda-ops,
# --bench-args "ARGS" (extra arguments of bench_pspnet.py; --device cpu defaults to small sizes).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
device=cuda python=${PSP_PYTHON:-python3} wheels=$repo/.wheels out=${OUT:+$OUT/gpu_check}
prepare=0 install=1 cuda_ops=0 bench_args=
while (( $# )); do
  case $1 in
    --device) device=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --wheels) wheels=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --prepare) prepare=1; shift ;;
    --skip-install) install=0; shift ;;
    --cuda-ops) cuda_ops=1; shift ;;
    --bench-args) bench_args=$2; shift 2 ;;
    *) echo "gpu_check.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
out=${out:-$repo/work_dirs/gpu_check}
say() { printf '[gpu_check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# What the check installs besides torch (mmcv is built from its sdist; numpy is whatever torch has).
REQUIREMENTS=(mmcv==2.1.0 mmengine==0.10.7 mmsegmentation==1.2.2 'openmim>=0.3.9' pytest 'ftfy>=6.0'
              'regex>=2023.0' 'Pillow>=9.0' 'tifffile>=2023.1' 'matplotlib>=3.5'
              'setuptools>=77.0.3,<81' wheel ninja)

if (( prepare )); then  # resolve the requirements here, keep the pure-Python wheels and mmcv's sdist
  mkdir -p "$wheels"
  dl=("$python" -m pip download --disable-pip-version-check --no-deps -d "$wheels")
  "$python" -m pip install --disable-pip-version-check --dry-run --ignore-installed --quiet \
    --report "$wheels/resolution.json" "${REQUIREMENTS[@]}"
  "$python" - "$wheels" <<'PY'
import json, sys
from pathlib import Path
folder = Path(sys.argv[1])
pure, binary = [], []
for item in json.loads((folder / 'resolution.json').read_text())['install']:
    pin = f"{item['metadata']['name']}=={item['metadata']['version']}"
    file = item['download_info']['url'].rsplit('/', 1)[-1]
    (pure if file.endswith('-none-any.whl') else binary).append(pin)
(folder / 'pure-requirements.txt').write_text('\n'.join(pure) + '\n')
(folder / 'binary-requirements.txt').write_text('\n'.join(binary) + '\n')
PY
  say "downloading $(wc -l < "$wheels/pure-requirements.txt") pure-Python wheels, ninja and the mmcv 2.1.0 sdist into $wheels"
  "${dl[@]}" --only-binary :all: -r "$wheels/pure-requirements.txt"
  "${dl[@]}" --no-binary :all: mmcv==2.1.0
  "${dl[@]}" --only-binary :all: --platform manylinux2014_x86_64 --python-version 3 --implementation py ninja
  for name in $(cut -d= -f1 "$wheels/binary-requirements.txt"); do  # a pure-Python build where one exists
    "${dl[@]}" --only-binary :all: --platform any --python-version 3 --implementation py --abi none "$name" \
      >/dev/null 2>&1 && say "  pure-Python wheel of $name found"
  done
  say "done: $(ls "$wheels" | wc -l) files, $(du -sh "$wheels" | cut -f1). Binary requirements expected on the"
  say "GPU machine (or add their wheels to $wheels): $(grep -v -E '^(mmcv|ninja)==' "$wheels/binary-requirements.txt" | tr '\n' ' ')"
  exit 0
fi

mkdir -p "$out"
exec > >(tee "$out/gpu_check.log") 2>&1
pip=("$python" -m pip install --disable-pip-version-check --no-index --find-links "$wheels")
if [[ $device == cpu ]]; then export CUDA_VISIBLE_DEVICES=""; fi
say "device $device; $("$python" -c 'import sys, torch; print("python", sys.version.split()[0], "torch",
  torch.__version__, "cuda", torch.version.cuda, "GPU:", torch.cuda.get_device_name(0)
  if torch.cuda.is_available() else "none")'); $(nproc) CPU cores"
if [[ $device == cuda ]] && ! "$python" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  say "torch sees no CUDA device: run on a GPU machine, or pass --device cpu"; exit 1
fi

declare -a names=() results=() times=()
step() {  # step NAME COMMAND...: run, time and record a check
  local name=$1 start=$SECONDS; shift
  say "== $name: $*"
  if "$@"; then results+=(PASS); else results+=(FAIL); fi
  names+=("$name"); times+=($(( SECONDS - start )))
  say "== $name: ${results[-1]} ($(( SECONDS - start )) s)"
}

if (( install )); then
  [[ -d $wheels ]] || { say "no wheel folder $wheels: run 'bash benchmarks/gpu_check.sh --prepare' with internet first"; exit 1; }
  missing=$("$python" - "$wheels/binary-requirements.txt" <<'PY'
import sys
from importlib import metadata
for line in open(sys.argv[1]):
    name = line.split('==')[0].strip()
    if name and name not in ('mmcv', 'ninja'):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            print(name, end=' ')
PY
)
  [[ -z $missing ]] || say "binary requirements not installed here: $missing(pip installs them only if $wheels has their wheels)"
  step install-build-tools "${pip[@]}" 'setuptools>=77.0.3,<81' wheel ninja
  if "$python" - <<'PY'  # mmcv 2.1.0 with its compiled ops (_ext), checked without importing mmcv
import sys
from importlib import metadata, util
from pathlib import Path
try:
    version = metadata.version('mmcv')
except metadata.PackageNotFoundError:
    version = None
spec = util.find_spec('mmcv')
ops = spec is not None and any(p.name.startswith('_ext') for p in Path(spec.origin).parent.iterdir())
sys.exit(0 if version == '2.1.0' and ops else 1)
PY
  then
    say "mmcv 2.1.0 with compiled ops already installed"
  elif (( cuda_ops )); then
    step build-mmcv-cuda-ops env MMCV_WITH_OPS=1 FORCE_CUDA=1 MAX_JOBS="$(nproc)" \
      "${pip[@]}" --no-build-isolation --no-cache-dir mmcv==2.1.0
  else  # hide the GPU from mmcv's setup.py so it builds the CPU ops only (no nvcc needed)
    step build-mmcv-cpu-ops env CUDA_VISIBLE_DEVICES="" MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" \
      "${pip[@]}" --no-build-isolation --no-cache-dir mmcv==2.1.0
  fi
  step install-openmmlab "${pip[@]}" mmengine==0.10.7 mmsegmentation==1.2.2 'openmim>=0.3.9' pytest
  step install-plugin "${pip[@]}" --no-build-isolation -e "$repo"
fi

cd "$repo"
mim=$(dirname "$(command -v "$python" 2>/dev/null || echo "$python")")/mim
[[ -x $mim ]] || mim=mim
toy=configs/pspnet_r18-d8_toy-scenes-64x64.py
if [[ $device == cuda ]]; then
  gpus=1 amp=(--amp)  # MMSeg's train.py: AmpOptimWrapper, fp16 autocast, dynamic loss scaling
else  # MMEngine's AmpOptimWrapper refuses CPUs: bf16 autocast through the plugin's wrapper instead
  gpus=0 amp=()
  cat > "$out/toy_bf16_cpu.py" <<EOF
_base_ = ['$repo/$toy']
custom_imports = dict(imports=['psp_plugin', 'psp_plugin.testing', 'psp_plugin.fit.bf16_optim_wrapper'],
                      allow_failed_imports=False)
optim_wrapper = dict(type='BF16AutocastOptimWrapper')
EOF
  toy=$out/toy_bf16_cpu.py
  bench_args=${bench_args:---infer-size 128 256 --train-size 128 128 --repeats 1 --train-repeats 1}
fi
export PSP_TOY_DATA_ROOT=$out/toy_scenes

step pytest-parity-and-safe-loading "$python" -m pytest -q -p no:cacheprovider \
  tests/models/test_mmseg_parity.py tests/engine/checkpoint/test_safe_loading.py \
  tests/engine/checkpoint/test_restricted_unpickler.py
step device-parity-and-fp16 "$python" benchmarks/gpu_check.py --device "$device" \
  --json "$out/device_checks.json"
step toy-data "$python" -c "from psp_plugin.testing.toy_scenes import make_toy_scenes; \
make_toy_scenes('$PSP_TOY_DATA_ROOT')"
rm -rf "$out/train"
step mim-train-amp "$mim" train mmsegmentation "$toy" --gpus "$gpus" --work-dir "$out/train" ${amp[@]+"${amp[@]}"}
step mim-test "$mim" test mmsegmentation "$toy" --gpus "$gpus" --checkpoint "$out/train/iter_20.pth" \
  --work-dir "$out/test"
# shellcheck disable=SC2086  # bench_args is a list of words
step bench-pspnet "$python" benchmarks/bench_pspnet.py --device "$device" --skip accuracy \
  --json "$out/bench_pspnet_{device}.json" $bench_args

say "summary ($device):"
for i in "${!names[@]}"; do printf '  %-32s %s %6d s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"; done
grep -h -o -E 'Iter\(test\).*mIoU: [0-9.]+' "$out"/test/*/*.log 2>/dev/null | tail -n 1 || true
say "log: $out/gpu_check.log; device checks: $out/device_checks.json; benchmark: $out/bench_pspnet_$device.json"
[[ " ${results[*]} " != *" FAIL "* ]]
