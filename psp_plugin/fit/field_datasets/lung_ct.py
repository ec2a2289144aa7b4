"""Two chest CT scans with a segmented lung nodule each, from the ``pyradiomics`` 3.1.0 source distribution.

pyradiomics ships its test cases in ``data/`` of its sdist as NRRD volumes (no wheel holds them):
``lung1`` (512 x 512 x 48 int16, 0.57 x 0.57 x 5 mm, a nodule of 837 voxels in 3 slices) and
``lung2`` (512 x 512 x 61 int16, 0.63 x 0.63 x 5 mm, a nodule of 24,644 voxels in 11 slices), each
with a label volume (1 = nodule) on its grid. Both are CT in Hounsfield units (-1024 air .. 3071),
one calibrated scale for both scans, so no per-scan intensity handling is needed: the import's clip
and z-score from the training slices maps both. The brain MRI cases (brain1, brain2) were not
chosen: MRI intensities have no common scale across scans and they hold 10 tumour slices in all
against the lungs' 14. The files are written byte for byte; the import reads NRRD itself and cuts
along the 5 mm axis, the one of largest spacing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from psp_plugin.data.volume_files import load_volume

from .sdists import SdistSource, read_sdist_member, sdist_metadata
from .wheels import start_dataset_folder, write_source_note

__all__ = ['PYRADIOMICS_SDIST', 'LUNG_CASES', 'LUNG_CLASSES', 'prepare_lung_ct']

PYRADIOMICS_SDIST = SdistSource('pyradiomics', '3.1.0')
LUNG_CASES = ('lung1', 'lung2')
LUNG_CLASSES = ('background', 'nodule')


def _members(case: str) -> tuple[str, str]:
    top = f'{PYRADIOMICS_SDIST.package}-{PYRADIOMICS_SDIST.version}/data'
    return f'{top}/{case}_image.nrrd', f'{top}/{case}_label.nrrd'


def _describe(case: str, image_path: Path, label_path: Path) -> str:
    """One note on a written case: size, spacing, HU range, nodule voxels and slices."""
    geometry, image = load_volume(image_path)
    _, labels = load_volume(label_path)
    values = np.unique(labels)
    if not set(values.tolist()) <= {0, 1} or 1 not in values:
        raise ValueError(
            f'{_members(case)[1]} holds values {values.tolist()[:5]}, not 0 and 1 (nodule). Fix: use '
            f'pyradiomics {PYRADIOMICS_SDIST.version}, whose lung labels are binary.'
        )
    slices = np.flatnonzero(labels.reshape(-1, labels.shape[2]).any(axis=0))
    spacing = ' x '.join(f'{z:.3g}' for z in geometry.zooms)
    return (
        f'{case}: {image.shape} {image.dtype} CT, {spacing} mm, {int(image.min())}..{int(image.max())} HU; '
        f'nodule {int((labels == 1).sum())} voxels in slices {int(slices[0])}-{int(slices[-1])} of the '
        'last (5 mm) axis'
    )


def prepare_lung_ct(sdist: str | Path, out_dir: str | Path) -> dict:
    """Write ``images/lung{1,2}.nrrd``, ``masks/lung{1,2}.nrrd``, ``classes.txt`` and ``source.json``.

    Args:
        sdist (str | Path): ``pyradiomics-3.1.0.tar.gz``.
        out_dir (str | Path): The dataset folder to write (``images/`` and ``masks/`` are replaced).

    Returns:
        dict: What ``source.json`` holds (archive, licence, members, notes).
    """
    sdist, out = Path(sdist), start_dataset_folder(out_dir)
    notes, members = [], []
    for case in LUNG_CASES:
        image_member, label_member = _members(case)
        members += [image_member, label_member]
        (out / 'images' / f'{case}.nrrd').write_bytes(read_sdist_member(sdist, image_member))
        (out / 'masks' / f'{case}.nrrd').write_bytes(read_sdist_member(sdist, label_member))
        notes.append(_describe(case, out / 'images' / f'{case}.nrrd', out / 'masks' / f'{case}.nrrd'))
    (out / 'classes.txt').write_text('\n'.join(LUNG_CLASSES) + '\n', encoding='utf-8')
    notes += [
        'images/ and masks/ hold the sdist\'s NRRD files byte for byte (label 1 = nodule)',
        'Hounsfield units are one scale for both scans: no windowing; the import clips and z-scores '
        'from the training slices',
        'the import slices along the axis of largest spacing (5 mm); with two scans, val and test are '
        'runs of consecutive slices with 2-slice gaps',
    ]
    return write_source_note(out, sdist, members, notes, sdist_metadata(sdist))
