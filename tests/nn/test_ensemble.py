"""An ensemble of window networks: mean loss and scores, each member's own gradient / K, finite differences."""

import numpy as np
import pytest

from wintrain.kernels import KERNELS
from wintrain.nn.activations import ACTIVATIONS
from wintrain.nn.ensemble import Ensemble, mean_scores, mean_transitions, member_prefix
from wintrain.nn.gradcheck import check_gradients
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier, predict_scores


def network(seed: int, loss: str = "cross_entropy", l2: float = 0.0, activation: str = "tanh", member: int = -1,
            kernels: str = "fast") -> WindowClassifier:
    """A small float64 network; ``member`` ≥ 0 names its parameters as that ensemble member's."""
    rng = np.random.default_rng(seed)
    spec = ModelSpec(window_size=3, n_classes=4, hidden=[6], activation=activation, l2=l2, l2_embeddings=l2 > 0,
                     loss=loss)
    features = [FeatureTable("word", rng.normal(size=(15, 5))), FeatureTable("casing", rng.normal(size=(6, 2)))]
    prefix = member_prefix(member) if member >= 0 else ""
    return WindowClassifier(spec, features, rng, np.float64, kernels=kernels, prefix=prefix)


def ensemble_of(*seeds: int, **kwargs) -> Ensemble:
    return Ensemble([network(seed, member=index, **kwargs) for index, seed in enumerate(seeds)])


def scores(model, features) -> np.ndarray:
    return mean_scores(model, lambda network: predict_scores(network, features))


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 15, (9, 3)), rng.integers(0, 6, (9, 3))], rng.integers(0, 4, 9)


LENGTHS = np.array([4, 5])  # two sentences for the sll loss


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("loss", ["cross_entropy", "sll"])
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_the_loss_is_the_members_mean_and_each_gradient_a_member_gradient_over_k(loss, l2, kernels):
    features, targets = batch()
    lengths = LENGTHS if loss == "sll" else None
    alone = [network(seed, loss, l2, kernels=kernels) for seed in (1, 2, 3)]
    ensemble = ensemble_of(1, 2, 3, loss=loss, l2=l2, kernels=kernels)
    losses = [model.loss_and_grads(features, targets, train=False, lengths=lengths)[0] for model in alone]
    total, _ = ensemble.loss_and_grads(features, targets, train=False, lengths=lengths)
    assert total == pytest.approx(np.mean(losses), rel=1e-12)
    for index, (model, member) in enumerate(zip(alone, ensemble.members), start=1):
        for own, scaled in zip(model.parameters(), member.parameters()):
            assert scaled.name == f"member{index}.{own.name}"
            assert np.allclose(scaled.dense_grad(), own.dense_grad() / 3, rtol=1e-12, atol=0)


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
@pytest.mark.parametrize("loss", ["cross_entropy", "sll"])
def test_every_member_parameter_matches_finite_differences(activation, loss):
    ensemble = ensemble_of(4, 5, loss=loss, l2=0.01, activation=activation)
    features, targets = batch(1)
    results = check_gradients(ensemble, features, targets, max_entries=10_000,
                              lengths=LENGTHS if loss == "sll" else None)
    names = {r.name for r in results}
    assert {"member1.embed.word", "member2.embed.word", "member1.hidden1.W", "member2.output.b"} <= names
    if loss == "sll":
        assert {"member1.sll.transitions", "member2.sll.initial"} <= names
    for result in results:
        assert result.relative_error < 1e-6, result


def test_scores_and_transitions_are_the_members_means():
    ensemble = ensemble_of(1, 2, loss="sll")
    members = ensemble.members
    features, _ = batch()
    expected = (predict_scores(members[0], features) + predict_scores(members[1], features)) / 2
    assert np.allclose(scores(ensemble, features), expected, rtol=1e-12, atol=0)
    learned = mean_transitions(ensemble)
    assert learned is not None
    transitions, initial = learned
    assert np.allclose(transitions, (members[0].loss.transitions.value + members[1].loss.transitions.value) / 2)
    assert np.allclose(initial, (members[0].loss.initial.value + members[1].loss.initial.value) / 2)
    assert mean_transitions(network(1)) is None


def test_state_round_trips_by_member_names():
    ensemble = ensemble_of(1, 2)
    state = ensemble.state()
    assert "member1.embed.word" in state and "member2.output.W" in state
    other = ensemble_of(8, 9)
    other.load_state(state)
    features, _ = batch()
    assert np.array_equal(scores(other, features), scores(ensemble, features))
    assert ensemble.count_parameters() == 2 * network(1).count_parameters()


def test_an_ensemble_needs_two_members_with_their_own_names():
    with pytest.raises(ValueError, match="two members"):
        Ensemble([network(1)])
    with pytest.raises(ValueError, match="member_prefix"):
        Ensemble([network(1), network(2)])
