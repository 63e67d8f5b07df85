#!/usr/bin/env bash
# One session on a lent CUDA machine (no internet; wheels for the packages its image lacks,
# skorch and sktime among them, are carried in .whl/). About 8 minutes in all:
#   1. kernels (~4 min): correctness of the Triton path against the float64 reference
#      (outputs and every gradient, every forced configuration incl. the gemm path, both
#      precisions), the TF32 and exact errors at seq 24/168 next to cuDNN's own error, and
#      the 24-point grid (train/infer x tf32/ieee) against cuDNN in the same precision,
#      written to benchmarks/results/kernels_gpu.json (and $OUT/kernels_gpu.json);
#   2. end to end (~1 min): LSTMRegressor(peephole="diagonal") against "none";
#   3. bench_global.py --device cuda (~1 min);
#   4. the test suite with CUDA present (~2 min): tests/nn, the regressor, the persistence
#      fixture and sklearn's checks (test_common); not tests/nn/test_triton_compile.py (an
#      offline compile check that needs no GPU and takes minutes on a cold cache).
# Everything it prints also goes to $OUT (or ./gpu_out). Limits can be changed through
# KERNELS_LIMIT, PROFILE_LIMIT, TRAINING_LIMIT, GLOBAL_LIMIT, TESTS_LIMIT (seconds; the
# defaults add up to 470 s).
# DRY_RUN=1 prints the commands instead of running them (works without a GPU).
set -uo pipefail
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
run() {  # run LIMIT LOG CMD...: time-limited, output to $OUT/LOG and the console
  local limit=$1 log=$2
  shift 2
  if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "would run (limit ${limit}s, log $OUT/$log): $*"
    return 0
  fi
  echo "== $* (limit ${limit}s)"
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$log" | grep -v -E "^(check |RESULT )" | tail -40
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] && echo "!! timed out after ${limit}s: $*"
  return 0
}
if ls .whl/*.whl >/dev/null 2>&1 && [ "${DRY_RUN:-0}" != 1 ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1 TRITON_DEFAULT_FP_FUSION=1
if [ "${DRY_RUN:-0}" != 1 ]; then
  if ! python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_session.sh: no CUDA device (torch.cuda.is_available() is False); nothing run." >&2
    echo "Run it on a machine with a GPU, or DRY_RUN=1 to list its commands." >&2
    exit 3
  fi
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/device.txt"
  python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" \
    | tee -a "$OUT/device.txt"
fi
run "${KERNELS_LIMIT:-230}" bench_kernels_cuda.log \
  python3 benchmarks/bench_kernels.py --device cuda --check --precision --grid --no-eager \
  --repeats 5 --budget 130 --json benchmarks/results/kernels_gpu.json --out "$OUT"
[ -f benchmarks/results/kernels_gpu.json ] && cp benchmarks/results/kernels_gpu.json "$OUT/"
run "${PROFILE_LIMIT:-20}" bench_kernels_profile.log \
  python3 benchmarks/bench_kernels.py --device cuda --profile
run "${TRAINING_LIMIT:-60}" bench_training_cuda.log \
  python3 benchmarks/bench_training.py --device cuda --repeats 3 --epochs 2 \
  --json "$OUT/training_gpu.json"
run "${GLOBAL_LIMIT:-50}" bench_global_cuda.log python3 benchmarks/bench_global.py --quick --device cuda
run "${TESTS_LIMIT:-110}" pytest_cuda.log \
  python3 -m pytest -q -p no:cacheprovider --durations=10 tests/nn tests/test_regressor.py \
  tests/test_persistence_fixture.py tests/test_common.py --ignore=tests/nn/test_triton_compile.py
