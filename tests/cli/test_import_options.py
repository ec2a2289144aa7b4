"""``import``, ``fit`` and ``plan`` share one set of import options, parsed by the real parser."""

import pytest

from psp_plugin.cli.import_data import import_options
from psp_plugin.cli.main import build_parser

FLAGS = [
    '--tile',
    '--tile-size',
    '64',
    '--instances-as',
    'foreground',
    '--axis',
    '1',
    '--ignore-index',
    '0',
    '--seed',
    '3',
    '--val-fraction',
    '0.2',
]
EXPECTED = dict(
    tile_images=True,
    tile_size=64,
    instances_as='foreground',
    axis=1,
    ignore_index=0,
    seed=3,
    val_fraction=0.2,
)


@pytest.mark.parametrize('command', ['import', 'fit', 'plan'])
def test_import_flags_reach_import_dataset_keywords(command):
    args = build_parser().parse_args([command, 'DATA', '--out', 'OUT', *FLAGS])
    assert import_options(args) == EXPECTED
    assert import_options(build_parser().parse_args([command, 'DATA', '--out', 'OUT'])) == {}


def test_fit_passes_import_options_and_bad_values_are_refused(capsys):
    args = build_parser().parse_args(
        ['fit', 'D', '--out', 'W', '--time-budget', '5m', '--tile', '--tile-size', '32']
    )
    assert args.func.__name__ == 'run' and import_options(args) == dict(tile_images=True, tile_size=32)
    with pytest.raises(SystemExit):
        build_parser().parse_args(['fit', 'D', '--out', 'W', '--axis', '3'])
    assert 'invalid choice: 3' in capsys.readouterr().err


def test_prepare_field_data_is_a_sub_command():
    args = build_parser().parse_args(
        ['prepare-field-data', '--wheels', 'w', '--out', 'o', '--datasets', 'nuclei2d', '--no-download']
    )
    assert (args.wheels, args.out, args.datasets, args.no_download) == ('w', 'o', ['nuclei2d'], True)
