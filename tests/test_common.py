"""The ecosystems' own check suites, run on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklstm import LSTMRegressor

# Estimators are checked with their *default* parameters: the defaults must
# learn sklearn's small problems (check_regressors_train needs R^2 > 0.5).
ESTIMATORS = [LSTMRegressor()]

# Every expected failure is written down with its reason (none so far).
EXPECTED_FAILED_CHECKS: dict = {}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)
