"""Choose LSTMForecaster's defaults: ``bench_forecast_accuracy.py`` on the selection origins.

A thin wrapper kept for the commands written down earlier. It runs
``bench_forecast_accuracy.py`` with the same options, except that origin 1 (the final test)
is refused here: choosing is done on origins 2..5 only. The old ``--candidates NAME ...`` and
``--references`` options are gone; write candidates as expressions and the baselines always
run alongside::

    python benchmarks/select_forecaster_defaults.py --seeds 0 1 2 --jobs 2 \\
        --candidate mean="LSTMForecaster(window_scaling='mean')" \\
        --candidate default="LSTMForecaster()"
"""

from __future__ import annotations

import sys

from bench_forecast_accuracy import main

if __name__ == "__main__":
    if "--final" in sys.argv[1:]:
        raise SystemExit(
            "select_forecaster_defaults.py chooses on origins 2..5 only; score origin 1 once, "
            "after choosing, with bench_forecast_accuracy.py --final"
        )
    main()
