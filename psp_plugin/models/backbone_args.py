"""Argument handling of DilatedResNet: output stride and MMSeg arguments.

``output_stride`` is turned into per-stage strides and dilations (or checked
against explicit MMSeg-style ones), and arguments that MMSeg ``ResNetV1c``
configs carry are accepted when they describe this backbone or refused with
the fix.
"""
from typing import Dict, Optional, Sequence, Tuple

#: output stride -> (strides, dilations) of the four stages
OUTPUT_STRIDE_SETTINGS: Dict[int, Tuple[Tuple[int, ...], Tuple[int, ...]]] = {
    8: ((1, 2, 1, 1), (1, 1, 2, 4)),
    16: ((1, 2, 2, 1), (1, 1, 1, 2)),
    32: ((1, 2, 2, 2), (1, 1, 1, 1)),
}


def resolve_strides_and_dilations(
    output_stride: Optional[int], strides: Optional[Sequence[int]],
    dilations: Optional[Sequence[int]]
) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Turn ``output_stride`` and/or explicit tuples into stage settings.

    With nothing given the backbone is OS8. Explicit ``strides`` and
    ``dilations`` (MMSeg style) must come together unless ``output_stride``
    fills the missing one; if both forms are given they must agree.
    """
    if output_stride is not None and output_stride not in \
            OUTPUT_STRIDE_SETTINGS:
        raise ValueError(
            f'output_stride={output_stride} is not supported; use one of '
            f'{sorted(OUTPUT_STRIDE_SETTINGS)} (or give explicit strides '
            'and dilations)')
    table_strides, table_dilations = OUTPUT_STRIDE_SETTINGS[output_stride
                                                            or 8]
    if strides is None and dilations is None:
        return table_strides, table_dilations
    if output_stride is None and (strides is None or dilations is None):
        raise ValueError(
            'DilatedResNet got only one of strides/dilations; give both '
            '(4 values each) or set output_stride to 8, 16 or 32')
    strides = tuple(table_strides if strides is None else strides)
    dilations = tuple(table_dilations if dilations is None else dilations)
    for name, values in (('strides', strides), ('dilations', dilations)):
        if len(values) != 4 or not all(
                isinstance(v, int) and v > 0 for v in values):
            raise ValueError(f'{name} must be 4 positive ints (one per '
                             f'stage), got {values}')
    if output_stride is not None and (strides, dilations) != (
            table_strides, table_dilations):
        raise ValueError(
            f'output_stride={output_stride} means strides={table_strides} '
            f'and dilations={table_dilations}, but the config also gives '
            f'strides={strides}, dilations={dilations}; remove one of them')
    return strides, dilations


#: MMSeg ResNet arguments whose value is implied here -> the accepted value
IMPLIED_MMSEG_ARGS = {'num_stages': 4, 'style': 'pytorch', 'deep_stem': True,
                      'avg_down': False}


def check_mmseg_resnet_args(args: dict) -> None:
    """Accept MMSeg ResNetV1c arguments that match this backbone, refuse the
    rest with the fix."""
    for name, value in args.items():
        if name in IMPLIED_MMSEG_ARGS and value == IMPLIED_MMSEG_ARGS[name]:
            continue
        if name in IMPLIED_MMSEG_ARGS:
            raise TypeError(
                f'DilatedResNet always has {name}='
                f'{IMPLIED_MMSEG_ARGS[name]!r}, got {name}={value!r}; remove '
                f'{name} from the backbone config')
        if name == 'pretrained':
            raise TypeError(
                f'DilatedResNet takes no `pretrained` (got {value!r}); use '
                "backbone init_cfg=dict(type='Pretrained', checkpoint=...) "
                'and remove `pretrained` from the model and backbone configs')
        raise TypeError(f'DilatedResNet got an unexpected argument {name}='
                        f'{value!r}; remove it from the backbone config')
