"""int8 adaptive pooling as plain average pooling where the bins tile the map (deploy.tiled_pooling)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from psp_plugin.deploy import optimize_for_inference
from psp_plugin.deploy.tiled_pooling import pool_by_tiles_where_possible, tiled_average_pool
from psp_plugin.testing.small_toy_model import preprocessed_images


def _quantized(shape, seed, zero_point=3):
    values = torch.relu(torch.randn(*shape, generator=torch.Generator().manual_seed(seed))) * 3
    return torch.quantize_per_tensor(values, 0.013, zero_point, torch.quint8).contiguous(
        memory_format=torch.channels_last)


@pytest.mark.parametrize('shape', [(1, 64, 16, 32), (2, 7, 12, 18), (1, 5, 6, 4), (1, 3, 1, 1)])
@pytest.mark.parametrize('bins', [1, 2, 3, 6])
def test_equals_adaptive_pooling_up_to_ties(shape, bins):
    x = _quantized(shape, seed=bins)
    ours, reference = tiled_average_pool(x, (bins, bins)), F.adaptive_avg_pool2d(x, bins)
    assert ours.shape == reference.shape
    assert (ours.q_scale(), ours.q_zero_point()) == (reference.q_scale(), reference.q_zero_point())
    difference = (ours.int_repr().int() - reference.int_repr().int()).abs()
    assert difference.max() <= 1
    if shape[-2] % bins or shape[-1] % bins:  # bins that do not tile: the adaptive kernel itself
        assert difference.max() == 0
    # a one-step difference only where the mean is exactly halfway between two steps
    sums = F.avg_pool2d(x.int_repr().double(), (shape[-2] // bins or 1, shape[-1] // bins or 1))
    if difference.max() > 0:
        halfway = (sums - sums.floor() == 0.5)
        assert bool(halfway[difference > 0].all())


def test_float_inputs_and_odd_sizes_follow_adaptive_pooling():
    x = torch.randn(2, 4, 9, 12)
    torch.testing.assert_close(tiled_average_pool(x, (3, 4)), F.adaptive_avg_pool2d(x, (3, 4)))
    torch.testing.assert_close(tiled_average_pool(x, (2, 5)), F.adaptive_avg_pool2d(x, (2, 5)))


def test_int8_graph_pools_by_tiles_and_keeps_its_predictions(trained_segmentor, small_toy_cfg,
                                                            monkeypatch):
    import psp_plugin.deploy.int8 as int8
    tiled = optimize_for_inference(copy.deepcopy(trained_segmentor), precision='int8',
                                   num_calib_images=4)
    monkeypatch.setattr(int8, 'pool_by_tiles_where_possible', lambda graph: 0)
    adaptive = optimize_for_inference(copy.deepcopy(trained_segmentor), precision='int8',
                                      num_calib_images=4)
    scales = len(trained_segmentor.decode_head.pool_scales)

    def count(segmentor, target):
        return sum(node.target is target for node in segmentor.decode_head.logits_core.core.graph.nodes)
    assert count(tiled, tiled_average_pool) == scales and count(adaptive, tiled_average_pool) == 0
    images = preprocessed_images(adaptive, small_toy_cfg, 'val')
    with torch.no_grad():
        agreement = (tiled._forward(images).argmax(1) == adaptive._forward(images).argmax(1))
    assert agreement.float().mean() > 0.99


def test_replacing_twice_changes_nothing_more(trained_segmentor):
    segmentor = optimize_for_inference(copy.deepcopy(trained_segmentor), precision='int8',
                                       num_calib_images=4)
    assert pool_by_tiles_where_possible(segmentor.decode_head.logits_core.core) == 0
