"""The main job: PSPNet on real brain-MRI slices, as one instance of ``fit`` on a CPU.

``psp-plugin main-job`` (what ``bash scripts/main_job.sh`` runs):

1. writes ``data/mni152_source`` (slices of the MNI152 template inside nilearn, as a plain
   images/ + masks/ folder split into slice blocks with gaps; :mod:`.mni152_source`), unless a
   complete copy is there;
2. runs :func:`psp_plugin.fit.fit` on it with a wall-time budget: import, plan (scale, width,
   precision and iterations measured on this machine), train, the test scale chosen on val,
   and the report on the test split, which no choice saw (``work_dirs/main_job/report/``).

The budget covers the whole ``fit`` call; 13 minutes keeps the job within 15 minutes on a
machine 20 % slower than the one it was measured on, because the plan measures the step time on
the machine it runs on.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .fit import fit
from .mni152_source import write_mni152_source
from .plan import CONFIG_NAME

__all__ = ['run_main_job', 'DEFAULT_SOURCE', 'DEFAULT_WORK_DIR', 'DEFAULT_BUDGET', 'JOB_CONFIG_NAME']

DEFAULT_SOURCE = Path('data') / 'mni152_source'
DEFAULT_WORK_DIR = Path('work_dirs') / 'main_job'
DEFAULT_BUDGET = '13m'
JOB_CONFIG_NAME = CONFIG_NAME  # the planned config in the work dir, as trained and tested


def run_main_job(*, source_dir: str | Path = DEFAULT_SOURCE, work_dir: str | Path = DEFAULT_WORK_DIR,
                 time_budget: str | float = DEFAULT_BUDGET, device: str = 'cpu', resume: bool = False,
                 num_overlays: int = 6, prepare_only: bool = False, plan_options: dict | None = None) -> dict:
    """Write the MNI152 source folder if needed, then ``fit`` it; return fit's summary.

    Args:
        source_dir (str | Path): Where the images/ + masks/ folder is written.
        work_dir (str | Path): ``fit``'s work dir (prepared data, config, checkpoints, report).
        time_budget (str | float): Wall time of the ``fit`` call. Default: ``'13m'``.
        device (str): ``'cpu'`` or ``'cuda'``. Default: ``'cpu'``.
        resume (bool): Continue the training planned in ``work_dir``. Default: False.
        num_overlays (int): Test slices drawn in the report. Default: 6.
        prepare_only (bool): Only write the source folder. Default: False.
        plan_options (dict, optional): Passed on to the planner (tests use tiny widths).
    """
    started = time.perf_counter()
    source = write_mni152_source(source_dir)
    print(f'main job: MNI152 slices in {source_dir}: ' +
          ', '.join(f'{split} {n}' for split, n in source['counts'].items()), flush=True)
    if prepare_only:
        return source
    summary = fit(source_dir, work_dir, time_budget=time_budget, device=device, resume=resume,
                  num_overlays=num_overlays, plan_options=plan_options)
    summary['main_job_seconds'] = round(time.perf_counter() - started, 1)
    summary['source'] = source
    (Path(work_dir) / 'main_job_summary.json').write_text(json.dumps(summary, indent=1))
    return summary
