"""Optimizers: first updates against hand-derived formulas, convergence on a quadratic,
lazy (sparse) updates of embedding tables, gradient clipping, state round trip, registry errors."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from wintrain.errors import WintrainError
from wintrain.nn.layers import Parameter
from wintrain.training.optimizers import OPTIMIZERS, clip_global_norm

THETA0 = [0.5, -1.0, 2.0]
GRADS = [[0.1, -0.2, 0.3], [0.4, 0.0, -0.5], [-0.3, 0.6, 0.2]]
LR = 0.1


# --------------------------------------------------------------------------- references
# Each reference works element by element on plain Python floats, written from the
# textbook formula, and returns the parameter after each of the steps.


def ref_sgd(theta, grads, lr, momentum=0.0, nesterov=False):
    theta, velocity, out = list(theta), [0.0] * len(theta), []
    for g in grads:
        for i in range(len(theta)):
            if momentum == 0.0:
                theta[i] -= lr * g[i]
                continue
            velocity[i] = momentum * velocity[i] + g[i]
            direction = g[i] + momentum * velocity[i] if nesterov else velocity[i]
            theta[i] -= lr * direction
        out.append(list(theta))
    return out


def ref_adagrad(theta, grads, lr, eps=1e-10, initial_accumulator=0.0):
    theta, acc, out = list(theta), [initial_accumulator] * len(theta), []
    for g in grads:
        for i in range(len(theta)):
            acc[i] += g[i] ** 2
            theta[i] -= lr * g[i] / (math.sqrt(acc[i]) + eps)
        out.append(list(theta))
    return out


def ref_rmsprop(theta, grads, lr, rho=0.9, eps=1e-8, momentum=0.0):
    theta, ms, buf, out = list(theta), [0.0] * len(theta), [0.0] * len(theta), []
    for g in grads:
        for i in range(len(theta)):
            ms[i] = rho * ms[i] + (1 - rho) * g[i] ** 2
            step = g[i] / (math.sqrt(ms[i]) + eps)
            if momentum:
                buf[i] = momentum * buf[i] + step
                step = buf[i]
            theta[i] -= lr * step
        out.append(list(theta))
    return out


def ref_adam(theta, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False, weight_decay=0.0):
    n = len(theta)
    theta, m, v, v_max, out = list(theta), [0.0] * n, [0.0] * n, [0.0] * n, []
    for t, g in enumerate(grads, start=1):
        for i in range(n):
            theta[i] *= 1 - lr * weight_decay  # decoupled decay (AdamW), before the Adam step
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
            v_max[i] = max(v_max[i], v[i])
            m_hat = m[i] / (1 - beta1**t)
            v_hat = (v_max[i] if amsgrad else v[i]) / (1 - beta2**t)
            theta[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(list(theta))
    return out


CASES = [
    ("sgd", {}, ref_sgd),
    ("sgd", {"momentum": 0.9}, ref_sgd),
    ("sgd", {"momentum": 0.9, "nesterov": True}, ref_sgd),
    ("adagrad", {}, ref_adagrad),
    ("adagrad", {"initial_accumulator": 0.1, "eps": 1e-6}, ref_adagrad),
    ("rmsprop", {}, ref_rmsprop),
    ("rmsprop", {"rho": 0.8, "momentum": 0.5}, ref_rmsprop),
    ("adam", {}, ref_adam),
    ("adam", {"beta1": 0.8, "beta2": 0.6, "eps": 1e-6}, ref_adam),
    ("adam", {"beta1": 0.8, "beta2": 0.6, "amsgrad": True}, ref_adam),
    ("adamw", {"weight_decay": 0.1}, ref_adam),
    ("adamw", {"weight_decay": 0.1, "beta2": 0.6, "amsgrad": True}, ref_adam),
    ("sparse_adam", {"beta1": 0.8}, ref_adam),  # a dense parameter: plain Adam
]


def case_id(case):
    name, params, _ = case
    return name + "".join(f"-{k}={v}" for k, v in params.items())


def run(name, params, grads, lr=LR, theta=THETA0, decay=True):
    param = Parameter("w", np.array(theta, dtype=np.float64), decay=decay)
    optimizer = OPTIMIZERS.build(name, params, "test", params=[param])
    out = []
    for g in grads:
        param.grad = np.array(g, dtype=np.float64)
        optimizer.step(lr)
        out.append(param.value.copy())
    return np.array(out), optimizer, param


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_first_three_updates_match_formula(case):
    name, params, reference = case
    got, _, _ = run(name, params, GRADS)
    expected = np.array(reference(THETA0, GRADS, LR, **params))
    assert got.shape == (3, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    # every step really moved the parameter
    assert not np.allclose(got[0], THETA0)
    assert not np.allclose(got[1], got[0]) and not np.allclose(got[2], got[1])


def test_hand_computed_first_steps():
    """A few values worked out on paper, independent of the reference helpers."""
    got, _, _ = run("sgd", {"momentum": 0.5}, [[1.0, 0, 0], [1.0, 0, 0]], lr=0.1)
    np.testing.assert_allclose(got[:, 0], [0.5 - 0.1, 0.5 - 0.1 - 0.1 * 1.5])
    got, _, _ = run("sgd", {"momentum": 0.5, "nesterov": True}, [[1.0, 0, 0], [1.0, 0, 0]], lr=0.1)
    np.testing.assert_allclose(got[:, 0], [0.5 - 0.15, 0.5 - 0.15 - 0.1 * (1 + 0.5 * 1.5)])
    # Adam's first step is lr·sign(g) (up to ε) whatever the gradient's size
    got, _, _ = run("adam", {}, [[1e-3, -50.0, 7.0]], lr=0.01)
    np.testing.assert_allclose(got[0], np.array(THETA0) - 0.01 * np.array([1.0, -1.0, 1.0]), rtol=1e-6)
    # Adagrad's first step is also lr·sign(g)
    got, _, _ = run("adagrad", {}, [[4.0, -0.5, 2.0]], lr=0.2)
    np.testing.assert_allclose(got[0], np.array(THETA0) - 0.2 * np.array([1.0, -1.0, 1.0]))


def test_variants_really_differ():
    plain, _, _ = run("sgd", {"momentum": 0.9}, GRADS)
    nesterov, _, _ = run("sgd", {"momentum": 0.9, "nesterov": True}, GRADS)
    assert not np.allclose(plain[1:], nesterov[1:])
    adam, _, _ = run("adam", {"beta1": 0.8, "beta2": 0.6}, GRADS)
    ams, _, _ = run("adam", {"beta1": 0.8, "beta2": 0.6, "amsgrad": True}, GRADS)
    np.testing.assert_array_equal(adam[0], ams[0])  # v_max = v on the first step
    assert not np.allclose(adam[1:], ams[1:])  # v drops in component 1 at step 2
    rms, _, _ = run("rmsprop", {"rho": 0.8}, GRADS)
    rms_mom, _, _ = run("rmsprop", {"rho": 0.8, "momentum": 0.5}, GRADS)
    np.testing.assert_array_equal(rms[0], rms_mom[0])
    assert not np.allclose(rms[1:], rms_mom[1:])


def test_adamw_decays_only_decay_parameters():
    adam, _, _ = run("adam", {}, GRADS)
    adamw_bias, _, _ = run("adamw", {"weight_decay": 0.1}, GRADS, decay=False)
    adamw_weight, _, _ = run("adamw", {"weight_decay": 0.1}, GRADS, decay=True)
    np.testing.assert_array_equal(adamw_bias, adam)
    assert not np.allclose(adamw_weight, adam)
    # decoupled: a zero gradient leaves only the shrinkage θ·(1 − lr·wd)
    got, _, _ = run("adamw", {"weight_decay": 0.5}, [[0.0, 0.0, 0.0]], lr=0.1)
    np.testing.assert_allclose(got[0], np.array(THETA0) * (1 - 0.1 * 0.5))


# --------------------------------------------------------------------------- convergence

A = np.array([1.0, 4.0, 0.5])
C = np.array([1.0, -2.0, 3.0])

CONVERGE = [
    ("sgd", {}, 0.2, 300),
    ("sgd", {"momentum": 0.9}, 0.05, 600),
    ("sgd", {"momentum": 0.9, "nesterov": True}, 0.05, 600),
    ("adagrad", {}, 1.0, 600),
    ("rmsprop", {}, 0.01, 1500),
    ("rmsprop", {"momentum": 0.9}, 0.001, 1500),
    ("adam", {}, 0.05, 1500),
    ("adam", {"amsgrad": True}, 0.05, 1500),
    ("adamw", {"weight_decay": 0.01}, 0.05, 1500),
    ("sparse_adam", {}, 0.05, 1500),
]


@pytest.mark.parametrize("name,params,lr,steps", CONVERGE, ids=[case_id(c[:2] + (None,)) for c in CONVERGE])
def test_minimises_convex_quadratic(name, params, lr, steps):
    param = Parameter("theta", np.zeros(3), decay=False)
    optimizer = OPTIMIZERS.build(name, params, "test", params=[param])

    def loss(theta):
        return 0.5 * float(np.sum(A * (theta - C) ** 2))

    start = loss(param.value)
    for _ in range(steps):
        param.grad = A * (param.value - C)
        optimizer.step(lr)
    assert loss(param.value) < 1e-4 * start
    np.testing.assert_allclose(param.value, C, atol=2e-2)


# --------------------------------------------------------------------------- sparse / lazy

TABLE0 = np.arange(18, dtype=np.float64).reshape(6, 3) / 10.0 - 0.7
BATCHES = [  # row 1 in every batch, row 2 never, rows 0/3/4/5 come and go; no zero entries
    (np.array([1, 3]), np.array([[0.1, -0.2, 0.3], [0.5, 0.5, -0.5]])),
    (np.array([0, 1]), np.array([[0.2, 0.1, -0.1], [-0.4, 0.3, 0.2]])),
    (np.array([1, 4, 5]), np.array([[0.3, 0.3, -0.1], [1.0, -1.0, 0.5], [0.05, -0.3, 0.2]])),
    (np.array([1, 3]), np.array([[-0.2, 0.6, 0.1], [-0.3, 0.2, 0.4]])),
]


def dense_of(rows, grad, shape=TABLE0.shape):
    full = np.zeros(shape)
    full[rows] = grad
    return full


def padded(slot: np.ndarray, rows: int) -> np.ndarray:
    """A lazily grown per-row slot as a full (rows, d) array (rows it does not cover are zero)."""
    full = np.zeros((rows,) + slot.shape[1:], slot.dtype)
    full[: len(slot)] = slot
    return full


def run_table(name, params, sparse, lr=0.05, batches=BATCHES, observe=None):
    param = Parameter("emb", TABLE0.copy(), sparse=sparse)
    optimizer = OPTIMIZERS.build(name, params, "test", params=[param])
    for rows, grad in batches:
        if sparse:
            param.rows, param.grad = rows, grad.copy()
        else:
            param.grad = dense_of(rows, grad)
        before = (param.value.copy(), {k: a.copy() for k, a in optimizer.state["emb"].items()})
        optimizer.step(lr)
        if observe:
            observe(rows, before, param, optimizer)
    return param, optimizer


def test_sparse_adam_rows_in_every_batch_follow_dense_adam():
    lazy, lazy_opt = run_table("sparse_adam", {}, sparse=True)
    dense, dense_opt = run_table("adam", {}, sparse=False)
    np.testing.assert_array_equal(lazy.value[1], dense.value[1])
    np.testing.assert_array_equal(lazy_opt.state["emb"]["m"][1], dense_opt.state["emb"]["m"][1])
    np.testing.assert_array_equal(lazy_opt.state["emb"]["v"][1], dense_opt.state["emb"]["v"][1])
    # and that trajectory is the textbook one
    expected = ref_adam(TABLE0[1], [grad[list(rows).index(1)] for rows, grad in BATCHES], 0.05)
    np.testing.assert_allclose(lazy.value[1], expected[-1], rtol=1e-12)
    # rows that skipped batches differ from dense Adam (which kept moving them)
    assert not np.allclose(lazy.value[3], dense.value[3])


def test_sparse_adam_leaves_rows_outside_the_batch_untouched():
    seen = []

    def observe(rows, before, param, optimizer):
        value0, state0 = before
        outside = np.setdiff1d(np.arange(6), rows)
        state = optimizer.state["emb"]
        np.testing.assert_array_equal(param.value[outside], value0[outside])
        for slot in ("m", "v"):  # lazy slots cover rows up to the largest seen; later rows are zero
            if slot in state0:
                np.testing.assert_array_equal(padded(state[slot], 6)[outside], padded(state0[slot], 6)[outside])
            else:
                np.testing.assert_array_equal(padded(state[slot], 6)[outside], 0.0)
        assert np.all(param.value[rows] != value0[rows])
        seen.append(len(outside))

    param, optimizer = run_table("sparse_adam", {}, sparse=True, observe=observe)
    assert seen == [4, 4, 3, 4]
    np.testing.assert_array_equal(param.value[2], TABLE0[2])  # never in a batch
    np.testing.assert_array_equal(optimizer.state["emb"]["m"][2], 0.0)
    np.testing.assert_array_equal(optimizer.state["emb"]["v"][2], 0.0)


def test_sparse_adam_amsgrad_lazy_slots():
    param, optimizer = run_table("sparse_adam", {"amsgrad": True, "beta2": 0.6}, sparse=True)
    np.testing.assert_array_equal(optimizer.state["emb"]["v_max"][2], 0.0)
    dense, _ = run_table("adam", {"amsgrad": True, "beta2": 0.6}, sparse=False)
    np.testing.assert_array_equal(param.value[1], dense.value[1])


def test_dense_adam_on_sparse_parameter_has_dense_semantics():
    moved = []

    def observe(rows, before, param, optimizer):
        value0, state0 = before
        outside = np.setdiff1d(np.arange(6), rows)
        had_momentum = [r for r in outside if "m" in state0 and np.any(state0["m"][r] != 0)]
        for r in had_momentum:  # momentum keeps moving rows that are not in the batch
            assert np.all(param.value[r] != value0[r])
            moved.append(r)
        for r in set(outside) - set(had_momentum):
            np.testing.assert_array_equal(param.value[r], value0[r])

    sparse, sparse_opt = run_table("adam", {}, sparse=True, observe=observe)
    assert 3 in moved and 0 in moved
    dense, dense_opt = run_table("adam", {}, sparse=False)
    np.testing.assert_allclose(sparse.value, dense.value, rtol=0, atol=1e-15)
    np.testing.assert_allclose(sparse_opt.state["emb"]["m"], dense_opt.state["emb"]["m"], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(sparse.value[2], TABLE0[2])  # never had a gradient


@pytest.mark.parametrize("name,params", [("sgd", {}), ("adagrad", {}), ("sgd", {"momentum": 0.9}), ("rmsprop", {})])
def test_lazy_or_default_sparse_update_equals_dense(name, params):
    sparse, _ = run_table(name, params, sparse=True, lr=0.1)
    dense, _ = run_table(name, params, sparse=False, lr=0.1)
    np.testing.assert_allclose(sparse.value, dense.value, rtol=1e-14, atol=1e-15)
    assert not np.allclose(sparse.value, TABLE0)


def test_sgd_lazy_update_values():
    param, _ = run_table("sgd", {}, sparse=True, lr=0.1)
    expected = TABLE0.copy()
    for rows, grad in BATCHES:
        for k, r in enumerate(rows):
            expected[r] -= 0.1 * grad[k]
    np.testing.assert_allclose(param.value, expected, rtol=1e-14)


def test_sparse_parameter_with_no_rows_is_skipped():
    param = Parameter("emb", TABLE0.copy(), sparse=True)
    optimizer = OPTIMIZERS.build("sparse_adam", {}, "t", params=[param])
    optimizer.step(0.1)  # rows None
    param.rows, param.grad = np.array([], dtype=np.int64), np.zeros((0, 3))
    optimizer.step(0.1)
    np.testing.assert_array_equal(param.value, TABLE0)
    assert optimizer.steps == 2


# --------------------------------------------------------------------------- clipping


def make_grads():
    w = Parameter("w", np.zeros((2, 2)))
    w.grad = np.array([[3.0, 0.0], [0.0, 4.0]])
    b = Parameter("b", np.zeros(2))
    b.grad = np.array([0.0, 12.0])
    emb = Parameter("emb", np.zeros((5, 2)), sparse=True)
    emb.rows, emb.grad = np.array([0, 3]), np.array([[0.0, 0.0], [84.0, 0.0]])
    return [w, b, emb]  # ‖g‖ = √(9 + 16 + 144 + 7056) = 85


def test_clip_global_norm_scales_when_too_large():
    params = make_grads()
    originals = [p.grad.copy() for p in params]
    total = clip_global_norm(params, 17.0)
    assert total == pytest.approx(85.0, rel=1e-15)
    for param, original in zip(params, originals):
        np.testing.assert_allclose(param.grad, original * 0.2, rtol=1e-12)
    new_norm = math.sqrt(sum(float(np.sum(p.grad**2)) for p in params))
    assert new_norm == pytest.approx(17.0, rel=1e-12)


def test_clip_global_norm_leaves_small_gradients_alone():
    params = make_grads()
    originals = [p.grad.copy() for p in params]
    assert clip_global_norm(params, 100.0) == pytest.approx(85.0)
    for param, original in zip(params, originals):
        np.testing.assert_array_equal(param.grad, original)


# --------------------------------------------------------------------------- state round trip

ROUND_TRIP = [
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("adagrad", {"initial_accumulator": 0.1}),
    ("rmsprop", {"momentum": 0.5}),
    ("adam", {"amsgrad": True}),
    ("adamw", {"weight_decay": 0.1}),
    ("sparse_adam", {}),
]


def feed(params, step):
    """Deterministic gradients for step ``step``: dense for w, sparse rows for emb."""
    rng = np.random.default_rng(100 + step)
    w, emb = params
    w.grad = rng.normal(size=w.value.shape)
    emb.rows = np.sort(rng.choice(6, size=3, replace=False))
    emb.grad = rng.normal(size=(3, 3))


@pytest.mark.parametrize("name,params", ROUND_TRIP, ids=[case_id(c + (None,)) for c in ROUND_TRIP])
def test_state_round_trip_continues_identically(name, params):
    def fresh(values=None):
        w = Parameter("w", np.linspace(-1, 1, 8).reshape(4, 2) if values is None else values[0].copy(), decay=True)
        emb = Parameter("emb", TABLE0.copy() if values is None else values[1].copy(), sparse=True)
        return [w, emb], OPTIMIZERS.build(name, params, "t", params=[w, emb])

    original_params, original = fresh()
    for step in range(3):
        feed(original_params, step)
        original.step(0.05)

    buffer = io.BytesIO()  # as a checkpoint does: through an .npz file
    np.savez(buffer, **original.state_arrays())
    buffer.seek(0)
    with np.load(buffer) as saved:
        arrays = {key: saved[key] for key in saved.files}
    assert int(arrays["steps"]) == 3
    assert len(arrays) > 1

    resumed_params, resumed = fresh([p.value for p in original_params])
    resumed.load_state_arrays(arrays)
    assert resumed.steps == 3
    for step in range(3, 5):
        feed(original_params, step)
        feed(resumed_params, step)
        original.step(0.05)
        resumed.step(0.05)
    for a, b in zip(original_params, resumed_params):
        np.testing.assert_array_equal(a.value, b.value)
    assert resumed.steps == original.steps == 5

    # without the state the continuation differs (the test can fail)
    if name != "sgd" or params.get("momentum"):
        cold_params, cold = fresh([p.value for p in original_params])
        for step in range(3, 5):
            feed(cold_params, step)
            cold.step(0.05)
        assert not np.array_equal(cold_params[0].value, original_params[0].value)


# --------------------------------------------------------------------------- registry errors


def test_unknown_optimizer_lists_valid_names():
    with pytest.raises(WintrainError) as error:
        OPTIMIZERS.build("adamm", {}, "cfg.yaml: optimizer.name", params=[])
    message = str(error.value)
    for name in ("sgd", "adagrad", "rmsprop", "adam", "adamw", "sparse_adam"):
        assert name in message
    assert "cfg.yaml: optimizer.name" in message
    assert "adamm" in message


def test_unknown_parameter_suggests_the_right_one():
    with pytest.raises(WintrainError) as error:
        OPTIMIZERS.build("adam", {"betta1": 0.9}, "cfg", params=[])
    message = str(error.value)
    assert "betta1" in message and "did you mean 'beta1'" in message


@pytest.mark.parametrize("params", [{"momentum": "lots"}, {"nesterov": "sometimes"}, {"momentum": [0.9]}])
def test_wrong_type_is_a_wintrain_error(params):
    with pytest.raises(WintrainError) as error:
        OPTIMIZERS.build("sgd", params, "cfg", params=[])
    assert next(iter(params)) in str(error.value)


@pytest.mark.parametrize(
    "name,params",
    [("sgd", {"momentum": 1.5}), ("sgd", {"momentum": -0.1}), ("adam", {"beta1": 1.0}), ("rmsprop", {"rho": 1.2})],
)
def test_out_of_range_is_a_wintrain_error(name, params):
    with pytest.raises(WintrainError) as error:
        OPTIMIZERS.build(name, params, "cfg", params=[])
    assert next(iter(params)) in str(error.value)


def test_config_values_are_converted_and_defaults_work():
    param = Parameter("w", np.zeros(3))
    optimizer = OPTIMIZERS.build("sgd", {"momentum": "0.5", "nesterov": "true"}, "cfg", params=[param])
    assert optimizer.momentum == 0.5 and optimizer.nesterov is True
    adam = OPTIMIZERS.build("adam", None, "cfg", params=[param])
    assert (adam.beta1, adam.beta2, adam.eps, adam.amsgrad) == (0.9, 0.999, 1e-8, False)
    assert set(OPTIMIZERS.names()) == {"sgd", "adagrad", "rmsprop", "adam", "adamw", "sparse_adam"}
