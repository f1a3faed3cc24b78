"""Learning-rate schedules: values at chosen epochs / steps against their formulas."""

from __future__ import annotations

import math

import pytest

from wintrain.errors import WintrainError
from wintrain.training.schedules import SCHEDULES


def build(name, params=None, lr0=0.1, steps_per_epoch=10, epochs=5):
    return SCHEDULES.build(name, params or {}, "cfg.yaml: schedule", lr0=lr0, steps_per_epoch=steps_per_epoch,
                           epochs=epochs)


def test_every_schedule_builds_from_its_name_alone():
    assert set(SCHEDULES.names()) == {"constant", "step", "exponential", "cyclic", "cosine", "plateau"}
    for name in SCHEDULES.names():
        schedule = SCHEDULES.build(name, {}, "w", lr0=0.01, steps_per_epoch=10, epochs=5)
        rate = schedule.lr(0, 0, [])
        assert 0.0 < rate <= 0.01


def test_constant():
    schedule = build("constant", lr0=0.3)
    assert [schedule.lr(e, 10 * e, [0.5] * e) for e in range(5)] == [0.3] * 5
    assert not schedule.per_step


def test_step_halves_every_k_epochs():
    schedule = build("step", {"every": 3, "gamma": 0.5}, lr0=0.8)
    assert [schedule.lr(e, 0) for e in range(10)] == pytest.approx(
        [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1], rel=1e-15
    )
    default = build("step", lr0=1.0)  # every 2 epochs, γ = 0.5
    assert [default.lr(e, 0) for e in range(5)] == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25])
    tenth = build("step", {"every": 1, "gamma": 0.1}, lr0=1.0)
    assert tenth.lr(3, 0) == pytest.approx(1e-3, rel=1e-12)


def test_step_rejects_every_zero():
    with pytest.raises(WintrainError, match="every"):
        build("step", {"every": 0})


@pytest.mark.parametrize("k", [0.1, 0.5, 2.0])
def test_exponential(k):
    schedule = build("exponential", {"k": k}, lr0=0.2)
    for epoch in (0, 1, 3, 7):
        assert schedule.lr(epoch, 123) == pytest.approx(0.2 * math.exp(-k * epoch), rel=1e-14)
    # the ratio between consecutive epochs is constant
    assert schedule.lr(5, 0) / schedule.lr(4, 0) == pytest.approx(math.exp(-k))


def test_cyclic_triangular_corners_and_midpoints():
    schedule = build("cyclic", {"mode": "triangular", "base_lr": 0.001, "max_lr": 0.011, "step_size": 8})
    assert schedule.per_step
    expected = {0: 0.001, 4: 0.006, 8: 0.011, 12: 0.006, 16: 0.001, 20: 0.006, 24: 0.011, 32: 0.001, 2: 0.0035}
    for step, rate in expected.items():
        assert schedule.lr(step // 10, step) == pytest.approx(rate, rel=1e-12), step
    # piecewise linear: equal increments on the rising half
    rises = [schedule.lr(0, s + 1) - schedule.lr(0, s) for s in range(8)]
    assert rises == pytest.approx([0.01 / 8] * 8)
    falls = [schedule.lr(0, s + 1) - schedule.lr(0, s) for s in range(8, 16)]
    assert falls == pytest.approx([-0.01 / 8] * 8)


def test_cyclic_triangular2_halves_each_peak():
    schedule = build("cyclic", {"mode": "triangular2", "base_lr": 0.0, "max_lr": 0.08, "step_size": 5})
    peaks = [schedule.lr(0, 5 + 10 * c) for c in range(4)]
    assert peaks == pytest.approx([0.08, 0.04, 0.02, 0.01], rel=1e-12)
    assert schedule.lr(0, 10) == pytest.approx(0.0, abs=1e-15)
    assert schedule.lr(0, 12) == pytest.approx(0.04 * 2 / 5)  # second cycle, rising


def test_cyclic_exp_range_scales_by_gamma_to_the_step():
    base, top, gamma = 0.01, 0.05, 0.99
    schedule = build("cyclic", {"mode": "exp_range", "base_lr": base, "max_lr": top, "step_size": 6, "gamma": gamma})
    for step in (0, 3, 6, 9, 12, 18, 21):
        cycle = math.floor(1 + step / 12)
        x = abs(step / 6 - 2 * cycle + 1)
        expected = base + (top - base) * max(0.0, 1 - x) * gamma**step
        assert schedule.lr(0, step) == pytest.approx(expected, rel=1e-12), step
    assert schedule.lr(0, 6) == pytest.approx(base + (top - base) * gamma**6)
    assert schedule.lr(0, 18) == pytest.approx(base + (top - base) * gamma**18)


def test_cyclic_defaults():
    schedule = SCHEDULES.build("cyclic", {}, "w", lr0=0.01, steps_per_epoch=10, epochs=5)
    # max_lr = lr0, base_lr = lr0 / 10, step_size = 2 epochs = 20 batches, triangular
    assert schedule.lr(0, 0) == pytest.approx(0.001)
    assert schedule.lr(1, 10) == pytest.approx(0.0055)
    assert schedule.lr(2, 20) == pytest.approx(0.01)
    assert schedule.lr(4, 40) == pytest.approx(0.001)


def test_cyclic_rejects_bad_mode_and_step_size():
    with pytest.raises(WintrainError, match="mode"):
        build("cyclic", {"mode": "sawtooth"})
    with pytest.raises(WintrainError, match="step_size"):
        build("cyclic", {"step_size": 0})


def test_cosine_warmup_then_decay_to_min_lr():
    lr0, min_lr, spe, epochs = 0.1, 0.001, 10, 5
    schedule = build("cosine", {"warmup_epochs": 1, "min_lr": min_lr}, lr0=lr0, steps_per_epoch=spe, epochs=epochs)
    assert schedule.per_step
    # linear warm-up over the first 10 batches, reaching lr0
    warm = [schedule.lr(0, s) for s in range(10)]
    assert warm == pytest.approx([lr0 * (s + 1) / 10 for s in range(10)], rel=1e-12)
    # cosine over the remaining 40 batches
    assert schedule.lr(1, 10) == pytest.approx(lr0, rel=1e-12)
    assert schedule.lr(3, 30) == pytest.approx((lr0 + min_lr) / 2, rel=1e-12)  # half way
    quarter = min_lr + 0.5 * (lr0 - min_lr) * (1 + math.cos(math.pi / 4))
    assert schedule.lr(2, 20) == pytest.approx(quarter, rel=1e-12)
    assert schedule.lr(5, 50) == pytest.approx(min_lr, rel=1e-12)  # the end of the run
    assert schedule.lr(6, 70) == pytest.approx(min_lr, rel=1e-12)  # clamped beyond it
    decay = [schedule.lr(0, s) for s in range(10, 51)]
    assert all(a > b for a, b in zip(decay, decay[1:]))  # strictly decreasing after warm-up
    assert min(decay) >= min_lr - 1e-15


def test_cosine_without_warmup():
    schedule = build("cosine", lr0=0.2, steps_per_epoch=4, epochs=2)  # T = 8, min_lr 0
    assert schedule.lr(0, 0) == pytest.approx(0.2)
    assert schedule.lr(1, 4) == pytest.approx(0.1)
    assert schedule.lr(1, 8) == pytest.approx(0.0, abs=1e-15)
    assert schedule.lr(0, 2) == pytest.approx(0.1 * (1 + math.cos(math.pi / 4)))


def test_plateau_reduces_after_more_than_patience_bad_epochs():
    schedule = build("plateau", {"factor": 0.5, "patience": 2}, lr0=1.0)
    history = [0.5, 0.6, 0.6, 0.55, 0.59, 0.58, 0.58, 0.7, 0.6, 0.6, 0.6]
    # epoch e sees history[:e]; bad counts after epochs 2,3,4 → reduce at the 3rd (lr for epoch 5)
    rates = [schedule.lr(e, 0, history) for e in range(12)]
    assert rates == [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25]
    # the count restarted after the reduction: epochs 5, 6 bad, 7 improves; 8, 9, 10 bad → reduce


def test_plateau_counter_resets_after_reduction():
    schedule = build("plateau", {"factor": 0.1, "patience": 1}, lr0=1.0)
    flat = [0.3] * 7  # first epoch sets best; then all bad: reduce after bad epochs 2, 4, 6
    rates = [schedule.lr(e, 0, flat) for e in range(8)]
    assert rates == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01, 0.001])


def test_plateau_respects_min_lr_and_threshold():
    floored = build("plateau", {"factor": 0.5, "patience": 0, "min_lr": 0.3}, lr0=1.0)
    flat = [0.4] * 6
    assert [floored.lr(e, 0, flat) for e in range(7)] == [1.0, 1.0, 0.5, 0.3, 0.3, 0.3, 0.3]
    # improvements smaller than the threshold do not count
    strict = build("plateau", {"factor": 0.5, "patience": 1, "threshold": 0.05}, lr0=1.0)
    creeping = [0.50, 0.52, 0.54, 0.56, 0.62]
    assert [strict.lr(e, 0, creeping) for e in range(6)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    lenient = build("plateau", {"factor": 0.5, "patience": 1}, lr0=1.0)
    assert [lenient.lr(e, 0, creeping) for e in range(6)] == [1.0] * 6


def test_plateau_needs_history_and_validates_factor():
    schedule = build("plateau", lr0=0.05)
    assert schedule.lr(10, 0, []) == 0.05
    with pytest.raises(WintrainError, match="factor"):
        build("plateau", {"factor": 1.5})


def test_schedule_registry_errors():
    with pytest.raises(WintrainError) as error:
        build("cosin")
    message = str(error.value)
    assert "did you mean 'cosine'" in message
    for name in ("constant", "step", "exponential", "cyclic", "cosine", "plateau"):
        assert name in message
    with pytest.raises(WintrainError, match="did you mean 'gamma'"):
        build("step", {"gama": 0.5})
    with pytest.raises(WintrainError, match="every"):
        build("step", {"every": "often"})
