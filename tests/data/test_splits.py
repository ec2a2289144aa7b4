"""make_splits: seeded, every class in val and test when possible, bands with a gap for one volume."""

from psp_plugin.data.splits import SplitItem, make_splits


def _images(n, rare_every=7):
    return [
        SplitItem(f'i{k}', f'i{k}', (), frozenset({0, 1} | ({2} if k % rare_every == 0 else set())))
        for k in range(n)
    ]


def test_rare_class_reaches_val_and_test_and_seed_repeats():
    items = _images(40)  # class 2 in 6 of 40 images
    first = make_splits(items, kind='images', seed=5)
    assert make_splits(items, kind='images', seed=5).splits == first.splits
    assert make_splits(items, kind='images', seed=6).splits != first.splits
    assert {len(v) for k, v in first.splits.items() if k != 'train'} == {6}
    rare = {f'i{k}' for k in range(0, 40, 7)}
    for split in ('train', 'val', 'test'):
        assert rare & set(first.splits[split]), split


def test_class_in_one_image_stays_in_train_and_is_noted():
    items = [SplitItem(f'i{k}', f'i{k}', (), frozenset({0, 1} if k != 3 else {0, 3})) for k in range(20)]
    result = make_splits(items, kind='images')
    assert 'i3' in result.splits['train']
    assert any('classes [3] are not in val' in note for note in result.notes)


def test_single_volume_is_split_in_slice_bands_with_a_gap():
    items = [SplitItem(f'v_{k:04d}', 'v', (k,), frozenset({0, 1})) for k in range(120)]
    result = make_splits(items, kind='volumes', seed=1)
    where = {n: s for s, names in result.splits.items() for n in names}
    assert result.excluded and len(where) + len(result.excluded) == 120
    for k in range(119):  # no train slice touches a val/test slice
        a, b = where.get(f'v_{k:04d}'), where.get(f'v_{k + 1:04d}')
        if a and b and a != b:
            assert False, (k, a, b)
    assert all(result.splits[s] for s in ('train', 'val', 'test'))


def test_three_volumes_go_whole_to_the_splits():
    items = [SplitItem(f'v{g}_{k}', f'v{g}', (k,), frozenset({0, 1})) for g in range(3) for k in range(10)]
    result = make_splits(items, kind='volumes')
    for split, names in result.splits.items():
        assert len({n.split('_')[0] for n in names}) == 1, split
    assert not result.excluded
