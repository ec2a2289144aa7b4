"""Tests of the context-scenes generator: the disc class is decided by the band alone."""
import mmcv
import numpy as np
import pytest
from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules

from psp_plugin.testing.context_scenes import (
    CLASSES,
    SCENE_LABELS,
    SCENE_TYPES,
    SceneGeometry,
    band_mask,
    generate_context_scenes,
    render_scene,
    sample_layout,
    scene_for_index,
)

GEOMETRY = SceneGeometry()
DISC_LABELS = {SCENE_LABELS[scene][1] for scene in SCENE_TYPES}


def test_same_seed_and_index_give_the_same_scene():
    first = scene_for_index(seed=3, split='train', index=5)
    again = scene_for_index(seed=3, split='train', index=5)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    for other in (scene_for_index(seed=4, split='train', index=5),
                  scene_for_index(seed=3, split='val', index=5),
                  scene_for_index(seed=3, split='train', index=7)):
        assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize('layout_seed', range(8))
def test_scene_types_of_one_layout_differ_only_inside_the_band(layout_seed):
    layout = sample_layout(np.random.default_rng(layout_seed), GEOMETRY)
    outdoor_image, outdoor_label = render_scene(layout, 'outdoor', GEOMETRY)
    indoor_image, indoor_label = render_scene(layout, 'indoor', GEOMETRY)
    band = band_mask(layout.context_side, GEOMETRY)

    np.testing.assert_array_equal(outdoor_image[~band], indoor_image[~band])
    assert (outdoor_image[band] != indoor_image[band]).any(axis=-1).all()
    discs = outdoor_label == SCENE_LABELS['outdoor'][1]
    assert discs.sum() > 0
    np.testing.assert_array_equal(indoor_label == SCENE_LABELS['indoor'][1], discs)
    np.testing.assert_array_equal(outdoor_label[~band & ~discs], 0)
    np.testing.assert_array_equal(indoor_label[~band & ~discs], 0)


@pytest.mark.parametrize('index', range(12))
def test_every_disc_takes_the_class_of_its_scene(index):
    image, label, scene_type = scene_for_index(seed=0, split='train', index=index)
    band_label, disc_label = SCENE_LABELS[scene_type]
    assert scene_type == SCENE_TYPES[index % 2]
    assert set(np.unique(label)) == {0, band_label, disc_label}
    assert image.shape == (GEOMETRY.size, GEOMETRY.size, 3) and image.dtype == np.uint8


def test_discs_are_drawn_the_same_way_in_both_scenes():
    """Discs hold the same colours in the same counts whether balls or lamps."""
    layout = sample_layout(np.random.default_rng(11), GEOMETRY)
    colour_counts = []
    for scene_type in SCENE_TYPES:
        image, label = render_scene(layout, scene_type, GEOMETRY)
        disc_colours = image[label == SCENE_LABELS[scene_type][1]]
        colour_counts.append(np.unique(disc_colours, axis=0, return_counts=True))
    (outdoor_colours, outdoor_counts), (indoor_colours, indoor_counts) = colour_counts
    np.testing.assert_array_equal(outdoor_colours, indoor_colours)
    np.testing.assert_array_equal(outdoor_counts, indoor_counts)
    assert len(outdoor_colours) == 2


@pytest.mark.parametrize('index', range(16))
def test_discs_stay_min_gap_away_from_the_band(index):
    _, label, _ = scene_for_index(seed=1, split='val', index=index)
    disc_pixels = np.argwhere(np.isin(label, list(DISC_LABELS)))
    band_pixels = np.argwhere(np.isin(label, [1, 2]))
    gaps = np.abs(disc_pixels[:, None, :] - band_pixels[None, :, :]).max(axis=-1)
    assert gaps.min() > GEOMETRY.min_gap


@pytest.mark.parametrize('kwargs, message', [
    (dict(size=64), 'raise size'),
    (dict(disc_radius=2), 'rim width'),
    (dict(max_discs=0), 'max_discs=0'),
])
def test_impossible_geometry_names_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SceneGeometry(**kwargs)


def test_unknown_scene_type_or_split_is_rejected():
    layout = sample_layout(np.random.default_rng(0), GEOMETRY)
    with pytest.raises(ValueError, match="'kitchen' is not one of"):
        render_scene(layout, 'kitchen', GEOMETRY)
    with pytest.raises(ValueError, match="'test' is not one of"):
        scene_for_index(seed=0, split='test', index=0)


def test_written_files_load_through_the_registered_dataset(tmp_path):
    register_all_modules(init_default_scope=True)
    root = generate_context_scenes(str(tmp_path), num_train=3, num_val=2, seed=2)
    dataset = DATASETS.build(dict(
        type='ContextScenesDataset', data_root=root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]))
    assert len(dataset) == 2 and dataset.metainfo['classes'] == CLASSES

    sample = dataset[1]
    image, label, _ = scene_for_index(seed=2, split='val', index=1)
    np.testing.assert_array_equal(sample['img'], image[..., ::-1])
    np.testing.assert_array_equal(sample['gt_seg_map'], label)
    np.testing.assert_array_equal(
        mmcv.imread(dataset[0]['img_path'], channel_order='rgb'),
        scene_for_index(seed=2, split='val', index=0)[0])
