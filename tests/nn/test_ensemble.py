"""An ensemble of window networks: mean loss and scores, each member's own gradient / K, finite differences."""

import numpy as np
import pytest

from wintrain.nn.activations import ACTIVATIONS
from wintrain.nn.ensemble import Ensemble, mean_transitions
from wintrain.nn.gradcheck import check_gradients
from wintrain.nn.model import FeatureTable, ModelSpec, WindowClassifier


def network(seed: int, loss: str = "cross_entropy", l2: float = 0.0, activation: str = "tanh") -> WindowClassifier:
    rng = np.random.default_rng(seed)
    spec = ModelSpec(window_size=3, n_classes=4, hidden=[6], activation=activation, l2=l2, l2_embeddings=l2 > 0,
                     loss=loss)
    features = [FeatureTable("word", rng.normal(size=(15, 5))), FeatureTable("casing", rng.normal(size=(6, 2)))]
    return WindowClassifier(spec, features, rng, np.float64)


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 15, (9, 3)), rng.integers(0, 6, (9, 3))], rng.integers(0, 4, 9)


LENGTHS = np.array([4, 5])  # two sentences for the sll loss


@pytest.mark.parametrize("loss", ["cross_entropy", "sll"])
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_the_loss_is_the_members_mean_and_each_gradient_a_member_gradient_over_k(loss, l2):
    features, targets = batch()
    lengths = LENGTHS if loss == "sll" else None
    alone = [network(seed, loss, l2) for seed in (1, 2, 3)]
    ensemble = Ensemble([network(seed, loss, l2) for seed in (1, 2, 3)])
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
    ensemble = Ensemble([network(seed, loss, 0.01, activation) for seed in (4, 5)])
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
    members = [network(seed, "sll") for seed in (1, 2)]
    features, _ = batch()
    expected = (members[0].predict_scores(features) + members[1].predict_scores(features)) / 2
    ensemble = Ensemble(members)
    assert np.allclose(ensemble.predict_scores(features), expected, rtol=1e-12, atol=0)
    learned = mean_transitions(ensemble.members)
    assert learned is not None
    transitions, initial = learned
    assert np.allclose(transitions, (members[0].loss.sll.transitions.value + members[1].loss.sll.transitions.value) / 2)
    assert np.allclose(initial, (members[0].loss.sll.initial.value + members[1].loss.sll.initial.value) / 2)
    assert mean_transitions([network(1)]) is None


def test_state_round_trips_by_member_names():
    ensemble = Ensemble([network(seed) for seed in (1, 2)])
    state = ensemble.state()
    assert "member1.embed.word" in state and "member2.output.W" in state
    other = Ensemble([network(seed) for seed in (8, 9)])
    other.load_state(state)
    features, _ = batch()
    assert np.array_equal(other.predict_scores(features), ensemble.predict_scores(features))
    assert ensemble.count_parameters() == 2 * network(1).count_parameters()


def test_an_ensemble_needs_two_members():
    with pytest.raises(ValueError, match="two members"):
        Ensemble([network(1)])
