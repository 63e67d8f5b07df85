#!/usr/bin/env bash
# What we run on a lent CUDA machine (no internet; wheels for the packages its image lacks,
# skorch and sktime among them, are carried in .whl/):
#   1. the CUDA-fitted pickle fixture that CI loads on a CPU-only machine,
#   2. the tests that exercise CUDA paths (kernels, layer, regressor, sklearn's checks with
#      device="auto" -> cuda), then the training benchmark on CUDA,
#   3. the rest of the test suite, within what time is left.
# Everything it prints also goes to $OUT (or ./gpu_out).
set -uo pipefail
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/device.txt"
python3 -c "import torch, sklearn, skorch; print('torch', torch.__version__, 'sklearn', sklearn.__version__, 'skorch', skorch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/device.txt"
python3 tests/fixtures/make_cuda_fixture.py "$OUT" 2>&1 | tee "$OUT/fixture.log"
cp "$OUT"/lstm_regressor_cuda* tests/fixtures/  # so the fixture test below loads this one
FIRST="tests/nn tests/test_regressor.py tests/test_persistence_fixture.py tests/test_common.py"
timeout "${FIRST_LIMIT:-240}" python3 -m pytest -q -p no:cacheprovider --durations=10 $FIRST 2>&1 \
  | tee "$OUT/pytest_cuda_first.log" | tail -25
timeout 90 python3 benchmarks/bench_training.py --device cuda --repeats 3 --epochs 2 2>&1 \
  | tee "$OUT/bench_training_cuda.txt" | tail -9
timeout "${REST_LIMIT:-150}" python3 -m pytest -q -p no:cacheprovider --ignore=tests/nn \
  --ignore=tests/test_regressor.py --ignore=tests/test_persistence_fixture.py \
  --ignore=tests/test_common.py 2>&1 | tee "$OUT/pytest_cuda_rest.log" | tail -15
