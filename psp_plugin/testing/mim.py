"""The one ``mim`` runner of the test suite: ``mim train``/``mim test`` in a real subprocess."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from psp_plugin.config_files import config_path
from psp_plugin.fit.train import mim_command

__all__ = ['TOY_CONFIG', 'run_mim']

TOY_CONFIG = config_path('pspnet_r18-d8_toy-scenes-64x64.py')


def run_mim(args: list[str], *, cwd: Path, data_root: Path | None = None, timeout: int = 600,
            check: bool = True, threads: int | None = 1) -> subprocess.CompletedProcess:
    """Run ``mim ARGS`` with the toy data at ``data_root``.

    Args:
        args (list[str]): e.g. ``['train', 'mmsegmentation', CONFIG, '--gpus', '0']``.
        cwd (Path): Working directory of the subprocess.
        data_root (Path, optional): Exported as ``PSP_TOY_DATA_ROOT`` (the toy config reads it).
        timeout (int): Seconds before the run is killed.
        check (bool): Raise ``AssertionError`` with the output's tail when mim fails.
        threads (int, optional): ``OMP_NUM_THREADS`` for the run unless already set; None inherits
            this process's environment (runs compared bit for bit with an in-process run need it).

    Returns:
        subprocess.CompletedProcess: with ``.output`` = stdout + stderr added.
    """
    env = dict(os.environ)
    if data_root is not None:
        env['PSP_TOY_DATA_ROOT'] = str(data_root)
    # 64x64 images gain nothing from intra-op threads, and spinning OpenMP
    # threads slow a busy shared machine down many times over.
    if threads is not None:
        env.setdefault('OMP_NUM_THREADS', str(threads))
    completed = subprocess.run([*mim_command(), *args], cwd=cwd, env=env, capture_output=True,
                               text=True, timeout=timeout)
    completed.output = completed.stdout + completed.stderr
    if check:
        assert completed.returncode == 0, f'mim {" ".join(args)} failed:\n{completed.output[-6000:]}'
    return completed
