"""split_in_line_runs: test and val as runs of lines, a gap to train, rare classes where the data allows."""

import numpy as np
import pytest

from psp_plugin.data.line_runs import split_in_line_runs


def _split(lines_classes, gap=1, seed=0, per_line=8, fractions=None):
    groups, lines, classes = [], [], []
    for line, found in enumerate(lines_classes):
        for _ in range(per_line):
            groups.append('a'), lines.append(line), classes.append(frozenset(found))
    where, rule = split_in_line_runs(groups, lines, classes, gap=gap, rng=np.random.default_rng(seed),
                                     fractions=fractions or {'test': 0.15, 'val': 0.15})
    by_line = {line: {where[i] for i in range(len(lines)) if lines[i] == line} for line in set(lines)}
    assert all(len(v) == 1 for v in by_line.values())  # a line goes whole to one split (or the gap)
    return [by_line[line].pop() for line in sorted(by_line)], rule


@pytest.mark.parametrize('gap', [1, 2])
def test_eight_lines_give_one_run_each_and_train_never_touches_them(gap):
    splits, rule = _split([{0, 1}] * 8 if gap == 1 else [{0, 1}] * 12, gap=gap)
    assert splits.count('test') >= 1 and splits.count('val') >= 1
    for k, split in enumerate(splits):
        near = set(splits[max(0, k - gap) : k + gap + 1])
        if split == 'train':
            assert not near & {'test', 'val'}
        if split == 'val':
            assert 'test' not in near
    runs = [s for k, s in enumerate(splits) if s in ('test', 'val') and (k == 0 or splits[k - 1] != s)]
    assert sorted(runs) == ['test', 'val'] and 'one run of consecutive lines' in rule
    # runs placed at the ends cost two gaps in all: 8 - 1 - 1 - 2 and 12 - 2 - 2 - 4 lines stay train
    assert splits.count('train') == 4 and splits.count(None) == 2 * gap


def test_rare_class_reaches_train_test_and_val_and_seeds_differ():
    lines = [{0}] * 16
    for k in (2, 7, 13):
        lines[k] = {0, 1}
    first, _ = _split(lines, seed=0)
    assert {first[k] for k in (2, 7, 13)} == {'train', 'test', 'val'}
    assert any(_split(lines, seed=s)[0] != first for s in range(1, 6))


def test_too_few_lines_stay_train_and_say_so():
    splits, rule = _split([{0, 1}] * 4)
    assert set(splits) == {'train'} and 'too few' in rule
