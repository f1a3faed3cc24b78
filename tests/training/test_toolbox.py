"""Issue-level checks of the toolbox on the shipped data: every optimizer × schedule learns,
every activation passes the gradient check on a real config, the graph's FLOPs add up."""

import numpy as np
import pytest

from wintrain.config import load_config
from wintrain.nn.activations import ACTIVATIONS
from wintrain.nn.gradcheck import check_config_gradients
from wintrain.nn.graph import describe
from wintrain.training.optimizers import OPTIMIZERS
from wintrain.training.profile import profile_steps
from wintrain.training.schedules import SCHEDULES
from wintrain.training.trainer import Trainer, prepare

from conftest import REPO

SYNTHETIC = REPO / "tests" / "configs" / "synthetic.yaml"
LEARNING_RATES = {"sgd": 0.1, "adagrad": 0.05}


def mean_loss(prepared, rows):
    features, targets = prepared.datasets["train"].batch(rows)
    model = prepared.model
    return model.loss.forward(model.forward(features, train=False), targets) + model.l2.forward()


@pytest.mark.parametrize("optimizer", OPTIMIZERS.names())
@pytest.mark.parametrize("schedule", SCHEDULES.names())
@pytest.mark.slow
def test_one_epoch_on_shipped_data_lowers_the_loss(optimizer, schedule):
    config = load_config(SYNTHETIC, [f"optimizer.name={optimizer}", f"schedule.name={schedule}",
                                      f"optimizer.lr={LEARNING_RATES.get(optimizer, 0.003)}", "train.epochs=1",
                                      "loss.l2=1e-6"])
    prepared = prepare(config)
    rows = np.arange(0, len(prepared.datasets["train"]), 7)
    before = mean_loss(prepared, rows)
    *_, last = Trainer(prepared).train_epoch(1, progress_every=10_000)
    after = mean_loss(prepared, rows)
    assert np.isfinite(last.loss) and np.isfinite(after)
    assert after < 0.5 * before, (before, after)


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
def test_gradcheck_on_the_shipped_config_passes_for_every_activation(activation):
    config = load_config(SYNTHETIC, [f"model.activation={activation}", "loss.l2=0.001", "model.hidden=[16, 8]"])
    results = check_config_gradients(config, batch_size=6, max_entries=60)
    assert len(results) == 8 + 2 * (activation == "prelu")  # tables, 3 affine (W, b), prelu alphas
    assert all(r.relative_error < 1e-6 for r in results), results


def test_graph_flops_match_the_lecture_model():
    config = load_config(SYNTHETIC, ["features.casing=false", "model.hidden=[200]", "model.dropout=0",
                                      "embeddings.extend_vocab=false"])
    prepared = prepare(config)
    nodes = describe(prepared.model, 256)
    # window 5, d = 50, H = 200, 9 tags: forward 2·(250·200 + 200·9), backward twice that (∂W and ∂x)
    assert sum(n.forward_flops for n in nodes) == 103_600
    assert sum(n.backward_flops for n in nodes) == 207_200
    assert sum(n.parameters for n in nodes) == prepared.model.count_parameters()


def test_profile_shares_add_up_to_everything_measured():
    prepared = prepare(load_config(SYNTHETIC))
    profile = profile_steps(prepared, steps=40)
    timed = [t.name for t in profile.times]
    # every node of the layer list (the lookups run inside the concat node), the loss, then the optimizer
    expected = [n.name for n in profile.nodes if n.kind not in ("Embedding", "L2Penalty")]
    assert timed == expected + ["optimizer step", "batch gather"]
    assert all(t.forward_seconds > 0 for t in profile.times[:-2]) and profile.times[-2].backward_seconds > 0
    # the timed nodes are disjoint parts of the steps: together no more than the wall time
    assert profile.measured_seconds <= profile.wall_seconds
