"""``fit``: import -> plan -> train -> select the test scale on val -> test and report.

Each stage is also callable alone (:func:`psp_plugin.data.import_dataset`, :func:`make_plan`,
:func:`train`, :func:`select_test_scale`, :func:`test_and_report`). The time budget covers the
whole call: the import's time is subtracted before the plan splits the rest.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

from .evaluate import evaluate_split, load_model
from .figures import training_curves
from .plan import format_plan, load_plan, make_plan
from .report import write_report
from .select import select_test_scale
from .train import train

__all__ = ['fit', 'parse_duration', 'prepare_or_import', 'test_and_report', 'PREPARED_DIR']

PREPARED_DIR = 'prepared'


def parse_duration(text: str | float) -> float:
    """``'15m'``, ``'90s'``, ``'1.5h'`` or a number of seconds -> seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    units = {'s': 1, 'm': 60, 'h': 3600}
    value, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, 's')
    try:
        seconds = float(value) * units[unit]
    except ValueError:
        raise ValueError(f'--time-budget {text!r} is not a duration. Fix: write e.g. 15m, 90s or 1.5h.')
    if seconds <= 0:
        raise ValueError(f'--time-budget {text!r} must be positive. Fix: write e.g. 15m.')
    return seconds


def prepare_or_import(data: str | Path, out: str | Path, **import_options) -> Path:
    """``data`` itself when it is a prepared root (``dataset.json`` + ``splits.json``), else import it."""
    data = Path(data)
    if (data / 'dataset.json').is_file() and (data / 'splits.json').is_file():
        return data
    from psp_plugin.data import import_dataset

    return Path(import_dataset(data, Path(out) / PREPARED_DIR, **import_options).root)


def _final_validation(work_dir: Path, scale: float, train_info: Optional[dict]) -> dict:
    """{training scale: val mIoU} when the training run validated its last iteration, else {}."""
    if not train_info:
        return {}
    last = [value for step, value in training_curves(work_dir)['mIoU'] if step == train_info['iterations']]
    return {scale: last[-1]} if last else {}


def test_and_report(work_dir: str | Path, checkpoint: str, *, device: str = 'cpu', timings: dict,
                    train_info: Optional[dict] = None, num_overlays: int = 6) -> dict:
    """Choose the test scale on val, score the test split at it, write the report; its summary."""
    work_dir = Path(work_dir)
    stage = time.perf_counter()
    plan = load_plan(work_dir)
    model, cfg = load_model(plan.config_path, checkpoint, device)
    selection = select_test_scale(work_dir, checkpoint, device=device, model=model,
                                  known=_final_validation(work_dir, plan.input_scale, train_info))
    timings['select'] = round(time.perf_counter() - stage, 1)
    stage = time.perf_counter()
    plan = load_plan(work_dir)  # now with the chosen test scale
    pred_dir = work_dir / 'test_predictions'
    test = evaluate_split(model, cfg, 'test', plan.test_scale, pred_dir=pred_dir)
    timings['test'] = round(time.perf_counter() - stage, 1)
    stage = time.perf_counter()
    report = write_report(plan=plan, test=test, pred_dir=pred_dir, selection=selection,
                          timings=timings, train=train_info, num_overlays=num_overlays)
    timings['report'] = round(time.perf_counter() - stage, 1)
    return dict(report=str(report), test_scale=plan.test_scale, metrics=test.metrics,
                selection=selection, timings=timings)


def fit(data: str | Path, out: str | Path, *, time_budget: str | float = '15m', device: str = 'cpu',
        gpus: int = 1, resume: bool = False, num_overlays: int = 6, plan_options: Optional[dict] = None,
        import_options: Optional[dict] = None) -> dict:
    """Import ``data``, plan, train, choose the test scale on val, test and report into ``out``.

    Args:
        data (str | Path): A folder of images and masks (any layout the import reads) or a
            prepared root.
        out (str | Path): The work dir: ``prepared/``, ``config.py``, checkpoints, ``report/``.
        time_budget (str | float): Wall time of the whole call, e.g. ``'15m'`` or seconds.
        device (str): ``'cpu'`` or ``'cuda'``. Default: ``'cpu'``.
        gpus (int): GPUs to train on (``'cuda'``). Default: 1.
        resume (bool): Keep the plan in ``out`` and continue its training. Default: False.
        num_overlays (int): Test images drawn in the report. Default: 6.
        plan_options (dict, optional): Passed to :func:`make_plan` (``width``, ``batch_size``...).
        import_options (dict, optional): Passed to ``import_dataset``.

    Returns:
        dict: ``report`` path, test ``metrics``, the ``selection`` on val and ``timings``.
    """
    started = time.perf_counter()
    budget_s = parse_duration(time_budget)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict = {}
    root = prepare_or_import(data, out, **(import_options or {}))
    timings['import'] = round(time.perf_counter() - started, 1)
    stage = time.perf_counter()
    if resume:
        plan = load_plan(out)
    else:
        plan = make_plan(root, out, time_budget_s=budget_s, device=device, gpus=gpus,
                         spent_s=timings['import'], **(plan_options or {}))
    print(format_plan(plan), flush=True)
    timings['plan'] = round(time.perf_counter() - stage, 1)
    result = train(plan.config_path, out, resume=resume, device=device, gpus=gpus)
    timings['train'] = result.seconds
    print(f'fit: trained {result.iterations} of {result.planned_iterations} planned iterations in '
          f'{result.seconds:.0f} s; choosing the test scale on val, then testing', flush=True)
    summary = test_and_report(out, result.checkpoint, device=device, timings=timings,
                              train_info=dict(iterations=result.iterations,
                                              planned_iterations=result.planned_iterations),
                              num_overlays=num_overlays)
    timings['total'] = round(time.perf_counter() - started, 1)
    (out / 'fit_summary.json').write_text(json.dumps(summary, indent=1))
    print(f'fit: test mIoU {summary["metrics"]["mIoU"]} (test split, scale {summary["test_scale"]:g}); '
          f'{timings["total"] / 60:.1f} min in all; report: {summary["report"]}', flush=True)
    return summary
