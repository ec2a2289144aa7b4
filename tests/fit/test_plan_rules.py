"""The planner's rules and the dataset facts they read, on arrays with known answers."""
import numpy as np
import pytest

from psp_plugin.fit.dataset_facts import measure_dataset, structure_width_sums
from psp_plugin.fit.metrics import accumulate_confusion, metrics_from_confusion
from psp_plugin.fit.plan_rules import (
    choose_class_weights,
    choose_crop,
    choose_input_scale,
    choose_output_stride,
    choose_test_scales,
)


@pytest.mark.parametrize('width', [3, 6, 12])
def test_structure_width_of_a_ribbon_is_its_width(width):
    mask = np.zeros((100, 100), dtype=np.uint8)
    mask[:, 40:40 + width] = 1  # a vertical ribbon, 100 px long
    areas, boundary = structure_width_sums(mask, 2)
    assert areas.tolist() == [100 * (100 - width), 100 * width]
    assert 2 * areas[1] / boundary[1] == pytest.approx(width, rel=0.01)


def test_ignored_pixels_count_for_no_class():
    mask = np.full((10, 10), 255, dtype=np.uint8)
    mask[:5] = 1
    areas, _ = structure_width_sums(mask, 3)
    assert areas.tolist() == [0, 50, 0]


@pytest.mark.parametrize('width, scale', [(8.5, 2.0), (11.0, 1.5), (16.0, 1.0), (6.0, 3.0)])
def test_input_scale_resolves_the_thinnest_class(width, scale):
    chosen, reason = choose_input_scale(width, 'cortex', (200, 200), 'cpu')
    assert chosen == scale
    assert 'cortex' in reason and 8 / chosen <= 0.5 * width


def test_input_scale_is_capped_by_image_size_on_cpu():
    chosen, reason = choose_input_scale(6.0, 'vessel', (600, 600), 'cpu')
    assert chosen == 1.0 and 'exceed' in reason


def test_wide_structures_on_large_images_get_half_resolution_and_stride_16():
    scale, _ = choose_input_scale(80.0, 'field', (1024, 1024), 'cpu')
    assert scale == 0.5
    assert choose_output_stride(150.0, 1.0)[0] == 16
    assert choose_output_stride(3.5, 2.0)[0] == 8


def test_crop_is_the_scaled_image_or_the_device_cap():
    assert choose_crop((48, 60), 1.5, 'cpu')[0] == 72
    assert choose_crop((200, 190), 2.0, 'cpu')[0] == 256
    assert choose_crop((200, 190), 2.0, 'cuda')[0] == 376


def test_class_weights_only_for_imbalance_and_capped():
    assert choose_class_weights([0.75, 0.16, 0.09], ['a', 'b', 'c'])[0] is None
    weights, reason = choose_class_weights([0.9899, 0.01, 0.0001, 0.0], ['bg', 'x', 'rare', 'absent'])
    assert weights[0] < weights[1] == 1.0 < weights[2] == 10.0 == weights[3]
    assert 'rare' in reason
    assert choose_test_scales(2.0)[0] == [2.0, 2.5, 3.0]


def test_measure_dataset_reads_train_masks_only(prepared_root):
    facts = measure_dataset(prepared_root)
    assert facts.median_hw == (48, 48)
    assert facts.sampled_masks == facts.num_images['train'] == 8
    assert sum(facts.class_frequency) == pytest.approx(1.0)
    assert facts.structure_width[2] == pytest.approx(10, abs=2)  # the 10 px ring (2 A / P)


def test_metrics_from_confusion_match_hand_counts():
    confusion = np.zeros((3, 3), dtype=np.int64)
    truth = np.array([[0, 0, 1, 1], [0, 2, 2, 255]])
    prediction = np.array([[0, 1, 1, 1], [0, 2, 0, 2]])
    accumulate_confusion(confusion, truth, prediction)
    result = metrics_from_confusion(confusion, ['a', 'b', 'c'])
    assert confusion.sum() == 7
    assert result['per_class']['a']['iou'] == pytest.approx(100 * 2 / 4)
    assert result['per_class']['b']['dice'] == pytest.approx(100 * 4 / 5)
    assert result['per_class']['c']['acc'] == pytest.approx(50.0)
    assert result['aAcc'] == pytest.approx(100 * 5 / 7, abs=0.01)
    empty = metrics_from_confusion(np.diag([3, 0, 0]), ['a', 'b', 'c'])
    assert empty['per_class']['b']['iou'] is None and empty['mIoU'] == 100.0
