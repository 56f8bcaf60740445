#!/usr/bin/env bash
# GPU checks, for a machine with an NVIDIA GPU (the lent device; CI never has one).
#
# Here, once:   scripts/gpu_check.sh --fetch-wheels     (pydantic & co. for the device's Python 3.12, into .whl/)
# There:        scripts/gpu_check.sh                    (device tool: carry [".whl"], timeout_s 420)
#
# It reports: the GPU; a sandbox job with TORCHGRADE_SANDBOX_GPU (no network namespace, the
# /dev/nvidia* devices) that initialises CUDA itself and multiplies on the GPU; then grades
# w2-rmb-lenet (trained on CUDA by a device-agnostic submission, and on the CPU by the course's
# own) and w1-normal-modes with samples drawn on the GPU.  Paste its output into docs/BENCHMARKS.md.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=(pydantic==2.14.4 pydantic-core==2.50.5 pydantic-settings==2.16.3 python-dotenv==1.2.4
        annotated-types==0.8.0 typing-inspection==0.4.5)

if [ "${1:-}" = "--fetch-wheels" ]; then
  grep -qx '/.whl/' .git/info/exclude || echo '/.whl/' >> .git/info/exclude
  exec "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl "${WHEELS[@]}"
fi

if ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi -L || echo "nvidia-smi: not found"
exec "$PY" scripts/gpu_check.py
