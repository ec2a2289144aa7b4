"""``predict``: a file or a folder of images, NIfTI/NRRD volumes and rasters -> labels next to each.

Outputs under ``out`` (folder layout of the input kept):

* images: ``labels/<name>.png`` and ``overlays/<name>.png``;
* rasters: ``labels/<name>.tif`` (and ``probabilities/<name>.tif`` with ``save_probs``);
* volumes: ``labels/<name>.nii.gz`` (``labels/<name>.nrrd`` for NRRD input) and ``volumes/<name>.csv``.

The kind of each file is recognised from it: ``.nii``/``.nii.gz``/``.nrrd``/``.nhdr`` are volumes;
a TIFF (or ``.img``/``.jp2``/``.vrt``) with a CRS, ground control points or a
non-identity transform is a raster, as is every TIFF when the config's
``psp_meta['kind']`` is ``'rasters'`` or ``kind='raster'`` is passed; other
TIFFs, PNGs and JPEGs are images.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from psp_plugin.data.volume_files import NRRD_SUFFIXES, VOLUME_SUFFIXES

from .areas import summary_lines
from .predictor import Predictor
from .progress import WindowProgress
from .rasters import RASTER_SUFFIXES, is_georeferenced

__all__ = ['KINDS', 'PredictionSummary', 'input_kind', 'list_inputs', 'predict']

KINDS = ('image', 'raster', 'volume')
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')


@dataclass
class PredictionSummary:
    """Files written by :func:`predict` and the summary lines it printed."""

    outputs: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _is_input(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(VOLUME_SUFFIXES) or path.suffix.lower() in IMAGE_SUFFIXES + RASTER_SUFFIXES


def list_inputs(source: str | Path) -> list[Path]:
    """The files to segment: ``source`` itself, or the supported files under the folder (sorted)."""
    source = Path(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f'{source} is neither a file nor a folder; check the INPUT path')
    found = sorted(path for path in source.rglob('*') if path.is_file() and _is_input(path))
    if not found:
        raise FileNotFoundError(f'no images, NIfTI/NRRD volumes or rasters found under {source}')
    return found


def input_kind(path: Path, *, kind: str | None = None, trained_on: str | None = None) -> str:
    """'image', 'raster' or 'volume' for ``path`` (see the module docstring)."""
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f'kind={kind!r} is unknown; use one of {KINDS}')
        return kind
    if path.name.lower().endswith(VOLUME_SUFFIXES):
        return 'volume'
    suffix = path.suffix.lower()
    if suffix in RASTER_SUFFIXES and (trained_on == 'rasters' or suffix not in IMAGE_SUFFIXES
                                      or is_georeferenced(path)):
        return 'raster'
    return 'image'


def _stem(relative: Path) -> Path:
    name = relative.name
    for suffix in VOLUME_SUFFIXES + IMAGE_SUFFIXES + RASTER_SUFFIXES:
        if name.lower().endswith(suffix):
            return relative.with_name(name[:-len(suffix)])
    return relative.with_suffix('')


def predict(source: str | Path, predictor: Predictor, out: str | Path, *, kind: str | None = None,
            axis: int | None = None, save_probs: bool = False, opacity: float = 0.5,
            strip_width: int | None = None, show_progress: bool = True) -> PredictionSummary:
    """Segment every input under ``source`` with ``predictor`` and write the outputs under ``out``.

    Args:
        source (str | Path): A file or a folder (searched recursively).
        predictor (Predictor): E.g. ``Predictor.from_files(config, checkpoint, precision='int8')``.
        out (str | Path): Output folder.
        kind (str, optional): Force 'image', 'raster' or 'volume' for every input.
        axis (int, optional): Slice axis of volumes when the config does not store one.
        save_probs (bool): Rasters: also write per-class probabilities. Defaults to False.
        opacity (float): Class colour weight in image overlays. Defaults to 0.5.
        strip_width (int, optional): Rasters: column strip width in pixels (default: buffers of about
            256 MiB; see :func:`~psp_plugin.inference.raster_prediction.strip_width_for`).
        show_progress (bool): Print progress (windows/s, ETA). Defaults to True.

    Returns:
        PredictionSummary: Files written and the summary lines (also printed).
    """
    from .image_prediction import predict_image
    from .raster_prediction import predict_raster
    from .volumes import predict_volume

    source, out = Path(source), Path(out)
    inputs = list_inputs(source)
    trained_on = (predictor.model.cfg.get('psp_meta') or {}).get('kind')
    summary = PredictionSummary()
    image_counts = np.zeros(predictor.num_classes, dtype=np.int64)
    images = [path for path in inputs if input_kind(path, kind=kind, trained_on=trained_on) == 'image']
    image_progress = WindowProgress(len(images), 'images', unit='images') if show_progress and images \
        else None
    for path in inputs:
        relative = _stem(path.relative_to(source) if source.is_dir() else Path(path.name))

        def output(folder: str, suffix: str) -> Path:
            return out / folder / relative.with_name(relative.name + suffix)

        found = input_kind(path, kind=kind, trained_on=trained_on)
        if found == 'image':
            image_counts += predict_image(predictor, path, output('labels', '.png'),
                                          output('overlays', '.png'), opacity=opacity)
            summary.outputs.append(output('labels', '.png'))
            if image_progress is not None:
                image_progress.update(1)
        elif found == 'raster':
            probabilities = output('probabilities', '.tif') if save_probs else None
            result = predict_raster(predictor, path, output('labels', '.tif'),
                                    probabilities_path=probabilities, strip_width=strip_width,
                                    show_progress=show_progress)
            summary.outputs.append(result.labels)
            _report(summary, f'{path}: wrote {result.labels}', summary_lines(
                result.counts, predictor.classes, pixel_m2=result.pixel_m2))
        else:
            suffix = '.nrrd' if path.name.lower().endswith(NRRD_SUFFIXES) else '.nii.gz'
            result = predict_volume(predictor, path, output('labels', suffix), output('volumes', '.csv'),
                                    axis=axis, show_progress=show_progress)
            summary.outputs.append(result.labels)
            _report(summary, f'{path}: wrote {result.labels} and {result.table}', summary_lines(
                result.counts, predictor.classes, voxel_ml=result.voxel_ml))
    if images:
        if image_progress is not None:
            image_progress.close()
        _report(summary, f'segmented {len(images)} image(s); wrote {out}/labels/ and {out}/overlays/',
                summary_lines(image_counts, predictor.classes))
    return summary


def _report(summary: PredictionSummary, head: str, lines: list[str]) -> None:
    for line in [head] + lines:
        print(line)
        summary.lines.append(line)
