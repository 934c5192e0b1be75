#!/usr/bin/env bash
# One-command GPU check and paper-size benchmark (docs/PERFORMANCE.md). Run from the repository root:
#
#   scripts/gpu_bench.sh                 # wheels from .whl/ if present, cuda tests, measurements, table
#   scripts/gpu_bench.sh --dry           # print the plan, check the environment, run nothing
#   scripts/gpu_bench.sh --cpu-smoke     # the whole flow on CPU with tiny configs (tests the script itself)
#   scripts/gpu_bench.sh --fetch-wheels  # on a machine WITH network: download the wheels the GPU host lacks
#
# Budget: <= 8 min on an H100/H200 (tests ~1 min, measurements ~5 min).
set -euo pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

MODE=run
WHEELS=.whl
OUT=results/perf
TABLE=docs/PERFORMANCE.md
PYTHON=${PYTHON:-python3}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry) MODE=dry ;;
    --cpu-smoke) MODE=cpu-smoke ;;
    --fetch-wheels) MODE=fetch-wheels ;;
    --wheels) WHEELS=${2:?--wheels needs a folder}; shift ;;
    --out) OUT=${2:?--out needs a folder}; shift ;;
    --table) TABLE=${2:?--table needs a file}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# Packages the GPU image lacks (it has torch, torchvision, timm): requirements.txt minus those.
wheel_names() { grep -vE '^\s*(#|$|torch|torchvision|timm)' requirements.txt | sed 's/\s*#.*//'; }

if [[ $MODE == fetch-wheels ]]; then
  mkdir -p "$WHEELS"
  wheel_names | xargs "$PYTHON" -m pip download --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$WHEELS"
  exit 0
fi

if [[ -d $WHEELS ]] && compgen -G "$WHEELS/*.whl" >/dev/null; then
  SITE=${TMPDIR:-/tmp}/osasis-bench-site
  echo "== installing $(ls "$WHEELS"/*.whl | wc -l) carried wheels into $SITE (no index)"
  [[ $MODE == dry ]] || "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELS"/*.whl
  export PYTHONPATH=$SITE:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} HF_HUB_OFFLINE=1 DVC_NO_ANALYTICS=1

if [[ $MODE == cpu-smoke ]]; then
  DRIVER=(--device cpu --smoke --iterations 1 --batch 2 --stylize-batches 1,2 --jojogan-steps 1 --metric-batch 2)
  TESTS=(-m cuda tests/cuda)  # they skip on CPU, with their reason
else
  DRIVER=(--device cuda)
  TESTS=(-m cuda tests/cuda)
fi
echo "== plan: pytest -q ${TESTS[*]}; $PYTHON scripts/gpu_bench.py ${DRIVER[*]} --out $OUT --table $TABLE"
if [[ $MODE == dry ]]; then
  "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  "$PYTHON" scripts/gpu_bench.py --help >/dev/null
  exit 0
fi
if [[ $MODE == run ]]; then
  "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)" \
    || { echo "error: no CUDA device visible to torch (try --cpu-smoke)" >&2; exit 2; }
fi
start=$(date +%s)
"$PYTHON" -m pytest -q -rs "${TESTS[@]}" -p no:cacheprovider
"$PYTHON" scripts/gpu_bench.py "${DRIVER[@]}" --out "$OUT" --table "$TABLE"
echo "== gpu_bench: done in $(( $(date +%s) - start )) s"
