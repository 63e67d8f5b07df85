"""The baselines of the forecaster's safety net, against direct loop implementations."""

import warnings

import numpy as np
import pytest

from sklstm._forecast import baselines


def _ses_loop(z, alpha):
    """Simple exponential smoothing from the first value: (level, sum of squared errors)."""
    level, sse = z[0], 0.0
    for t in range(1, len(z)):
        sse += (z[t] - level) ** 2
        level = alpha * z[t] + (1 - alpha) * level
    return level, sse


def _theta_loop(y, n_steps, sp):
    """The theta method written out step by step (classical decomposition, SES, drift)."""
    y = np.asarray(y, dtype=float)
    L = len(y)
    index = np.ones(max(sp, 1))
    if sp > 1 and L >= 2 * sp and np.all(y > 0):
        k = sp + 1 if sp % 2 == 0 else sp
        w = np.ones(k) / sp
        if sp % 2 == 0:
            w[0] = w[-1] = 0.5 / sp
        ratios = {j: [] for j in range(sp)}
        for t in range(L - k + 1):
            centre = t + (k - 1) // 2
            ratios[centre % sp].append(y[centre] / np.dot(w, y[t : t + k]))
        index = np.array([np.mean(ratios[j]) for j in range(sp)])
        index = index / index.mean()
    z = y / index[np.arange(L) % len(index)]
    fits = [(_ses_loop(z, a)[1], i, a) for i, a in enumerate(baselines.THETA_ALPHAS)]
    alpha = min(fits)[2]  # the least one-step error; the first of a tie
    level = _ses_loop(z, alpha)[0]
    slope = np.polyfit(np.arange(L), z, 1)[0]
    out = []
    for s in range(1, n_steps + 1):
        f = level + 0.5 * slope * (s - 1 + 1 / alpha - (1 - alpha) ** L / alpha)
        out.append(f * index[(L - 1 + s) % len(index)])
    return np.array(out)


@pytest.mark.parametrize(
    ("L", "sp", "n_steps"), [(36, 12, 18), (24, 12, 30), (16, 4, 8), (20, 1, 6), (15, 7, 9)]
)
def test_theta_matches_the_step_by_step_method(L, sp, n_steps):
    rng = np.random.RandomState(L + sp)
    t = np.arange(L)
    windows = [
        50 + 0.4 * t + 6 * np.sin(2 * np.pi * t / max(sp, 2)) + rng.rand(L),
        rng.normal(0, 1, L),  # values <= 0: no deseasonalisation
        100 * (1 + 0.2 * np.cos(2 * np.pi * t / max(sp, 2))) + rng.rand(L),
    ]
    past = np.stack(windows)[:, :, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division warnings on non-positive windows
        got = baselines.theta_forecast(past, n_steps, sp)
    want = np.stack([_theta_loop(w, n_steps, sp) for w in windows])[:, :, None]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_theta_smooths_a_random_walk_little_and_noise_much():
    """The smoothing constant is the theta method's estimate: the least one-step error."""
    rng = np.random.RandomState(0)
    walk = 100 + np.cumsum(rng.normal(size=(8, 200, 1)), axis=1)
    noise = 100 + rng.normal(size=(8, 200, 1))
    a_walk = baselines.THETA_ALPHAS[baselines.smoothing_choice(walk)[1]]
    a_noise = baselines.THETA_ALPHAS[baselines.smoothing_choice(noise)[1]]
    assert a_walk.min() >= 0.8 and a_noise.max() <= 0.2
    # a random walk is forecast near its last value (naive plus half the small drift) ...
    path = baselines.theta_forecast(walk, 6, 1)
    assert np.abs(path[:, 0] - walk[:, -1]).max() < 0.5
    # ... a noisy level near its mean, not its last value
    path = baselines.theta_forecast(noise, 6, 1)
    assert np.abs(path[:, 0] - 100).max() < 0.5
    assert np.abs(path[:, 0] - noise[:, -1]).mean() > 0.5


def test_theta_is_the_same_at_any_scale_and_never_overflows():
    # Before: the one-step error sums overflowed above ~1e154, argmin took the first
    # constant, and the forecast changed with the units (with RuntimeWarnings).
    rng = np.random.RandomState(1)
    past = 100 + np.cumsum(rng.normal(size=(4, 120, 1)), axis=1)
    want = baselines.theta_forecast(past, 6, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for scale in (1e-150, 1e150, 1e200):
            got = baselines.theta_forecast(past * scale, 6, 12) / scale
            np.testing.assert_allclose(got, want, rtol=1e-9)


def test_theta_continues_a_pure_multiplicative_season_exactly():
    sp, L = 12, 36
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(sp) / sp)
    y = 200 * season[np.arange(L + 12) % sp]
    got = baselines.theta_forecast(y[None, :L, None], 12, sp)[0, :, 0]
    np.testing.assert_allclose(got, y[L:], rtol=1e-9)
    # without the season, the same window is forecast as a smoothed level: not the season
    flat = baselines.theta_forecast(y[None, :L, None], 12, 1)[0, :, 0]
    assert np.abs(flat - y[L:]).max() > 10


def test_theta_is_a_baseline_of_the_blend():
    rng = np.random.RandomState(0)
    past = 10 + rng.rand(5, 24, 2)
    out = baselines.baseline_forecasts(past, 6, 12)
    assert set(out) == set(baselines.NAMES)
    assert out["theta"].shape == (5, 6, 2)
    # the blend can pick theta when it is the best on the held-out origins
    truth = out["theta"] + 0.01 * rng.normal(size=out["theta"].shape)
    network = truth + rng.normal(size=truth.shape)
    weights = baselines.blend_weights(truth, network, out, np.ones((5, 2)))
    assert weights["theta"] > 0.9 and sum(weights.values()) == pytest.approx(1.0)


def test_histories_of_any_length_are_forecast_as_one_window_each():
    rng = np.random.RandomState(1)
    Y = 10 + rng.rand(60, 2)
    origins = np.array([1, 2, 5, 12, 30, 45, 60])
    histories = baselines.origin_histories(Y, origins, context=40)
    assert [len(h) for h in histories] == [1, 2, 5, 12, 30, 40, 40]
    assert np.shares_memory(histories[-1], Y)  # views, not copies
    out = baselines.history_forecasts(histories, 5, sp=12)
    assert set(out) == set(baselines.NAMES) and out["theta"].shape == (7, 5, 2)
    for i, h in enumerate(histories):
        alone = baselines.baseline_forecasts(h[None], 5, 12)
        for name in baselines.NAMES:
            if name in alone:
                np.testing.assert_allclose(out[name][i], alone[name][0])
            else:  # too short for it: NaN, never a made-up value
                assert np.isnan(out[name][i]).all()
    # seasonal naive from one season on; drift and theta from two rows on
    assert (
        np.isnan(out["seasonal_naive"][:3]).all() and np.isfinite(out["seasonal_naive"][3:]).all()
    )
    assert np.isnan(out["drift"][0]).all() and np.isfinite(out["drift"][1:]).all()


def test_blend_weights_compare_each_baseline_where_it_exists():
    """A baseline missing at some origins is scored against the network on the others."""
    rng = np.random.RandomState(2)
    truth = rng.normal(size=(20, 4, 1))
    network = truth + 0.5 * rng.normal(size=truth.shape)  # MSE about 0.25
    good = truth + 0.1 * rng.normal(size=truth.shape)  # MSE about 0.01 where it exists
    good[:10] = np.nan  # the first ten origins had too short a history for it
    network[:10] += 5.0  # the network is very poor there: that must not count for it
    poor = truth + 1.0 * rng.normal(size=truth.shape)
    w = baselines.blend_weights(
        truth, network, {"seasonal_naive": good, "naive": poor}, np.ones((20, 1))
    )
    assert w["seasonal_naive"] > 0.9 and w["naive"] == 0.0
    # on its ten origins the good baseline's MSE is about 1/25 of the network's there
    assert w["seasonal_naive"] == pytest.approx(1 / (1 + 0.01 / 0.25), abs=0.03)


def test_blend_lets_naive_stand_in_for_a_missing_baseline():
    network = np.full((2, 3, 1), 4.0)
    base = np.full((2, 3, 1), 2.0)
    base[1] = np.nan  # the second window's history is too short for this baseline
    naive = np.full((2, 3, 1), 3.0)
    weights = {**baselines.networks_alone(), "network": 0.25, "seasonal_naive": 0.75}
    out = baselines.blend(network, {"seasonal_naive": base, "naive": naive}, weights)
    np.testing.assert_allclose(out[0], 0.25 * 4 + 0.75 * 2)
    np.testing.assert_allclose(out[1], 0.25 * 4 + 0.75 * 3)  # naive in its place
    # without a naive forecast to stand in, the network does
    out = baselines.blend(network, {"seasonal_naive": base}, weights)
    np.testing.assert_allclose(out[1], 4.0)
    assert np.isfinite(out).all()
    missing = baselines.missing_weighted({"seasonal_naive": base, "naive": naive}, weights)
    assert missing[1].all() and not missing[0].any()


def test_a_baseline_scored_on_too_few_points_is_not_a_candidate():
    rng = np.random.RandomState(3)
    truth = rng.normal(size=(40, 4, 1))
    network = truth + 0.5 * rng.normal(size=truth.shape)
    lucky = truth.copy()  # perfect, but only where it exists: 1 origin of 40
    lucky[1:] = np.nan
    w = baselines.blend_weights(truth, network, {"seasonal_naive": lucky}, np.ones((40, 1)))
    assert w == baselines.networks_alone()
    lucky[: int(40 * baselines.MIN_SHARE)] = truth[: int(40 * baselines.MIN_SHARE)]
    w = baselines.blend_weights(truth, network, {"seasonal_naive": lucky}, np.ones((40, 1)))
    assert w["seasonal_naive"] == 1.0  # on half of the points it is a candidate


@pytest.mark.parametrize(
    ("n", "first", "sp"), [(36, 0, 12), (25, 6, 12), (9, 3, 7), (300, 1, 288)]
)
def test_position_means_match_a_loop_over_positions(n, first, sp):
    rows = np.random.RandomState(n).rand(2, n, 3)
    want = np.stack(
        [rows[:, (first + np.arange(n)) % sp == j].mean(axis=1) for j in range(sp)], axis=1
    )
    np.testing.assert_allclose(baselines.position_means(rows, first, sp), want)


def test_the_context_covers_four_seasons_and_the_lookback():
    assert baselines.context_length(1, 12) == baselines.CONTEXT_POINTS == 200
    assert baselines.context_length(12, 36) == 200
    assert baselines.context_length(288, 24) == 4 * 288
    assert baselines.context_length(1, 500) == 500
