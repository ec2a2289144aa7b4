"""Read any common image file as the 8-bit, 3-channel BGR array MMSeg expects.

Segmentation pipelines built from MMSeg configs assume ``uint8`` images with
three channels in OpenCV's BGR order. Real inputs are often not like that:
grayscale scans, RGBA screenshots and 16-bit microscopy or MRI slices. This
module converts each of them in one documented way, so the demo command and
any program can feed them to ``mmseg.apis.inference_model``.
"""
from pathlib import Path
from typing import Iterator, List, Literal

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')

HighBitScaling = Literal['minmax', 'full']


def to_uint8(image: np.ndarray, *, scaling: HighBitScaling = 'minmax') -> np.ndarray:
    """Map an image of any numeric dtype to ``uint8``.

    Args:
        image (np.ndarray): (H, W) or (H, W, C) pixel values of any dtype.
        scaling (str): How values that do not fit 8 bits are mapped.
            ``'minmax'`` stretches this image's own minimum..maximum to
            0..255 (good for 16-bit scans that use a small part of the
            range); ``'full'`` maps the dtype's whole range to 0..255
            (``value / 257`` for ``uint16``). Float images always use
            ``'minmax'``. Defaults to ``'minmax'``.

    Returns:
        np.ndarray: The same shape as ``image``, dtype ``uint8``.
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if scaling not in ('minmax', 'full'):
        raise ValueError(f"scaling={scaling!r} is not supported; use 'minmax' or 'full'")
    values = image.astype(np.float64)
    if scaling == 'full' and np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        low, high = float(info.min), float(info.max)
    else:
        low, high = float(np.min(values)), float(np.max(values))
    if high <= low:
        return np.zeros(image.shape, dtype=np.uint8)
    scaled = (values - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_three_channels(image: np.ndarray) -> np.ndarray:
    """Turn a grayscale, gray+alpha, BGR or BGRA ``uint8`` image into BGR.

    Alpha is composited over black, so the model sees what a viewer shows:
    fully transparent pixels become black instead of leaking hidden colours.

    Args:
        image (np.ndarray): (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or
            (H, W, 4) ``uint8`` image; channel order as OpenCV reads it.

    Returns:
        np.ndarray: (H, W, 3) ``uint8`` BGR image.
    """
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f'cannot read an image of shape {image.shape}: expected (H, W) or '
            '(H, W, C) with C in 1..4; convert multi-page or multi-band files '
            'to single images first')
    channels = image.shape[2]
    if channels in (2, 4):
        alpha = image[:, :, -1:].astype(np.float32) / 255.0
        color = image[:, :, :-1].astype(np.float32) * alpha
        image = np.clip(np.rint(color), 0, 255).astype(np.uint8)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)


def read_image_bgr(path: str | Path, *, scaling: HighBitScaling = 'minmax') -> np.ndarray:
    """Read an image file as an (H, W, 3) ``uint8`` BGR array.

    Args:
        path (str | Path): Image file (PNG, JPEG, BMP, TIFF, WebP).
        scaling (str): How 16-bit or float pixels map to 8 bits; see
            :func:`to_uint8`. Defaults to ``'minmax'``.

    Returns:
        np.ndarray: (H, W, 3) ``uint8`` image in BGR order.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'image {path} does not exist; check the path')
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ValueError(
            f'OpenCV cannot decode {path}; supported formats are '
            f'{", ".join(IMAGE_SUFFIXES)}')
    return to_three_channels(to_uint8(raw, scaling=scaling))


def list_images(source: str | Path) -> List[Path]:
    """List the image files to segment: one file, or a folder searched recursively.

    Args:
        source (str | Path): An image file or a folder of images.

    Returns:
        list[Path]: Sorted image paths.
    """
    source = Path(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f'{source} is neither an image file nor a folder')
    images = sorted(p for p in _walk(source) if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(
            f'no images ({", ".join(IMAGE_SUFFIXES)}) found under {source}')
    return images


def _walk(folder: Path) -> Iterator[Path]:
    return (p for p in folder.rglob('*') if p.is_file())
