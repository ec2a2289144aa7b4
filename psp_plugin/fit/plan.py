"""Stage 2 of ``fit``: plan a PSPNet for a prepared dataset, this machine and a wall-time budget.

:func:`make_plan` measures the dataset's training masks (:mod:`.dataset_facts`), applies the rules
of :mod:`.plan_rules`, times a training step and an inference pass of the planned model *here*
(:mod:`.measure`), splits the budget between training and the stages after it, and writes an
ordinary MMSeg config (:mod:`.config_builder`) plus ``plan.json``. Every choice carries its reason.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .config_builder import model_config, write_config
from .crop_sampling import DRAWS as CROP_DRAWS
from .crop_sampling import choose_rare_classes, sampled_class_frequency
from .dataset_facts import DatasetFacts, measure_dataset
from .measure import measure_inference_seconds, measure_step_times
from .plan_rules import (
    choose_class_weights,
    choose_crop,
    choose_input_scale,
    choose_network,
    choose_output_stride,
    choose_test_scales,
    thinnest_width,
)

__all__ = ['Plan', 'PlanError', 'format_plan', 'load_plan', 'make_plan', 'save_plan', 'CONFIG_NAME',
           'PLAN_NAME']

CONFIG_NAME = 'config.py'
PLAN_NAME = 'plan.json'
BF16_MIN_SPEEDUP = 1.15
STARTUP_S = {'cpu': 8.0, 'cuda': 30.0}  # Runner, dataloader workers, startup checks
REPORT_S = 8.0
INFERENCE_OVERHEAD = 1.3  # loading, resizing and scoring around each measured forward pass


class PlanError(ValueError):
    """The budget or the data cannot make a plan; the message says what to change."""


@dataclass
class Plan:
    """Every setting of a planned run, with ``reasons`` as (name, value, reason) rows."""

    data_root: str
    work_dir: str
    classes: list[str]
    palette: list[list[int]]
    channels: int
    kind: str
    axis: Optional[int]
    normalization: dict
    ignore_index: int
    device: str
    gpus: int
    input_scale: float
    output_stride: int
    crop: int
    depth: int
    width: int
    batch_size: int
    class_weight: Optional[list[float]]
    precision: str
    step_seconds: float
    train_seconds: float
    max_iters: int
    warmup_iters: int
    val_interval: int
    checkpoint_interval: int
    log_interval: int
    test_scale_candidates: list[float]
    test_scale: float
    time_budget_s: float
    estimates_s: dict
    workers: int = 1
    threads: int = 1
    lr: float = 0.002
    seed: int = 0
    rare_classes: list = field(default_factory=list)
    rare_share: float = 1 / 3
    rare_crop_prob: float = 1.0
    reasons: list = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        """K."""
        return len(self.classes)

    @property
    def config_path(self) -> Path:
        """Where the planned config is written."""
        return Path(self.work_dir) / CONFIG_NAME


def _estimates(facts: DatasetFacts, infer_s: float, scale: float, scales: list[float],
               device: str, val_passes_inside: int) -> dict:
    """Seconds that the stages around the training iterations will take."""
    per_image = {s: INFERENCE_OVERHEAD * infer_s * (s / scale) ** 2 for s in scales}
    val, test = facts.num_images['val'], facts.num_images['test']
    return dict(startup=STARTUP_S['cuda' if device.startswith('cuda') else 'cpu'],
                val_pass=val * per_image[scale],
                val_inside_training=val_passes_inside * val * per_image[scale],
                # the training scale's val score comes from the final validation of the training run
                select=val * sum(v for s, v in per_image.items() if s != scale),
                test=test * max(per_image.values()), report=REPORT_S)


def make_plan(root: str | Path, work_dir: str | Path, *, time_budget_s: float, device: str = 'cpu',
              gpus: int = 1, spent_s: float = 0.0, width: Optional[int] = None,
              batch_size: Optional[int] = None, workers: Optional[int] = None,
              precision: Optional[str] = None, threads: Optional[int] = None) -> Plan:
    """Plan a run on the prepared ``root`` and write ``work_dir/config.py`` and ``plan.json``.

    Args:
        root (str | Path): The prepared dataset (``psp_plugin.data.import_dataset``'s output).
        work_dir (str | Path): Where the config, checkpoints and report go.
        time_budget_s (float): Wall-time budget of the whole fit (import to report), seconds.
        device (str): ``'cpu'`` or ``'cuda'``. Default: ``'cpu'``.
        gpus (int): GPUs for training (``'cuda'`` only). Default: 1.
        spent_s (float): Seconds of the budget already spent (e.g. by the import). Default: 0.
        width (int, optional): Force the backbone's base width (tests use tiny widths).
        batch_size (int, optional): Force the images per step (per GPU).
        workers (int, optional): Force the dataloader workers.
        precision (str, optional): Force ``'fp32'`` or ``'bf16'`` instead of measuring.
        threads (int, optional): Force the CPU threads instead of timing 1 and all cores.

    Returns:
        Plan: The plan; ``plan.reasons`` says why for every setting.
    """
    started = time.perf_counter()
    facts = measure_dataset(root)
    prepared = facts.prepared
    names = prepared.classes
    reasons: list = []
    w_min, thin = thinnest_width(facts.structure_width, facts.class_frequency)
    scale, why = choose_input_scale(w_min, names[thin], facts.median_hw, device)
    reasons.append(('input_scale', scale, why))
    stride, why = choose_output_stride(w_min, scale)
    reasons.append(('output_stride', stride, why))
    crop, why = choose_crop(facts.median_hw, scale, device)
    reasons.append(('crop_size', (crop, crop), why))
    depth, base, why = choose_network(device, time_budget_s, width)
    reasons.append(('backbone', f'DilatedResNet-{depth}, width {base}', why))
    sampling, why = choose_rare_classes(facts.class_frequency, facts.class_presence, names)
    reasons.append(('rare_classes', [names[i] for i in sampling.classes], why))
    frequency = facts.class_frequency
    if sampling.classes:
        frequency = sampled_class_frequency(prepared, facts.sampled_names, max(8, round(crop / scale)),
                                            sampling)
    weights, why = choose_class_weights(frequency, names)
    if sampling.classes:
        why = (f'{why}; frequencies of {CROP_DRAWS} crops drawn as training draws them ('
               + ', '.join(f'{n} {100 * f:.2f} %' for n, f in zip(names, frequency)) + ')')
    reasons.append(('class_weight', weights, why))
    scales, why = choose_test_scales(scale)
    reasons.append(('test_scale_candidates', scales, why))
    batch = batch_size or 8
    reasons.append(('batch_size', batch, 'requested' if batch_size else
                    'MMSeg\'s usual 8 images per step (per GPU)'))
    workers = workers if workers is not None else (1 if device == 'cpu' else 4)
    reasons.append(('normalization', 'clip_zscore', 'per-channel clip and z-score from the training '
                    'split (dataset.json), applied alike by training, mim test and predict'))
    plan = Plan(
        data_root=str(prepared.root), work_dir=str(Path(work_dir).resolve()), classes=names,
        palette=prepared.palette, channels=prepared.channels, kind=prepared.kind, axis=prepared.axis,
        normalization=prepared.normalization, ignore_index=prepared.ignore_index, device=device,
        gpus=gpus, input_scale=scale, output_stride=stride, crop=crop, depth=depth, width=base,
        batch_size=batch, class_weight=weights, precision='fp32', step_seconds=0.0,
        train_seconds=0.0, max_iters=1, warmup_iters=0, val_interval=1, checkpoint_interval=1,
        log_interval=1, test_scale_candidates=scales, test_scale=scale, time_budget_s=time_budget_s,
        estimates_s={}, workers=workers, rare_classes=list(sampling.classes),
        rare_share=sampling.share, rare_crop_prob=sampling.crop_prob, reasons=reasons)
    _plan_precision_and_budget(plan, facts, precision, threads, spent_s + time.perf_counter() - started)
    save_plan(plan)
    return plan


def save_plan(plan: Plan) -> Path:
    """Write ``plan.json`` and the config of ``plan`` into its work dir; return the config path."""
    write_config(plan, plan.config_path)
    (Path(plan.work_dir) / PLAN_NAME).write_text(json.dumps(dataclasses.asdict(plan), indent=1))
    return plan.config_path


def load_plan(work_dir: str | Path) -> Plan:
    """Read ``work_dir/plan.json`` back into a :class:`Plan`."""
    path = Path(work_dir) / PLAN_NAME
    if not path.is_file():
        raise FileNotFoundError(f'{path} does not exist: {work_dir} was not planned. Fix: run '
                                f'`psp-plugin plan DATA --out {work_dir}` (or `psp-plugin fit`) first.')
    fields = json.loads(path.read_text())
    fields['reasons'] = [tuple(row) for row in fields['reasons']]
    return Plan(**fields)


def _plan_precision_and_budget(plan: Plan, facts: DatasetFacts, precision: Optional[str],
                               threads: Optional[int], spent_s: float) -> None:
    """Measure step and inference times here; set threads, precision, iterations and intervals."""
    started = time.perf_counter()
    model = model_config(plan)
    cores = os.cpu_count() or 1
    times = measure_step_times(model, channels=plan.channels, num_classes=plan.num_classes,
                               crop=(plan.crop, plan.crop), batch_size=plan.batch_size,
                               device=plan.device, try_bf16=precision in (None, 'bf16'),
                               threads=[threads] if threads else sorted({1, cores}))
    plan.threads = times.threads
    if plan.device == 'cpu':
        plan.reasons.append(('threads', plan.threads, 'requested' if threads else 'fp32 step seconds '
                             'measured here by thread count: ' + ', '.join(
                                 f'{n}: {s:.3f}' for n, s in times.seconds_by_threads.items())))
    if precision == 'bf16' and times.bf16_s is None:
        raise PlanError(f'precision=bf16 was requested, but this {plan.device} has no bf16 support '
                        '(CPU flags avx512_bf16/amx_bf16, or a bf16 GPU). Fix: leave precision unset.')
    speedup = times.fp32_s / times.bf16_s if times.bf16_s else 0.0
    holds = times.bf16_loss_gap is not None and times.bf16_loss_gap <= 0.05
    if precision == 'bf16' or (precision is None and speedup >= BF16_MIN_SPEEDUP and holds):
        plan.precision, plan.step_seconds = 'bf16', times.bf16_s
        why = (f'bf16 autocast step {times.bf16_s:.3f} s vs fp32 {times.fp32_s:.3f} s measured here '
               f'({speedup:.2f}x); losses from the same start within {100 * times.bf16_loss_gap:.1f} %')
    else:
        plan.step_seconds = times.fp32_s
        why = (f'fp32 step {times.fp32_s:.3f} s measured here; ' + (
            'fp32 requested' if precision == 'fp32' else 'no bf16 support here' if times.bf16_s is None
            else f'bf16 {times.bf16_s:.3f} s ({speedup:.2f}x, loss gap '
                 f'{100 * times.bf16_loss_gap:.1f} %) is not >= {BF16_MIN_SPEEDUP}x faster with losses '
                 'within 5 %'))
    plan.reasons.append(('precision', plan.precision, why))
    hw = facts.median_hw
    infer_s = measure_inference_seconds(model, channels=plan.channels, device=plan.device,
                                        image_hw=(int(hw[0] * plan.input_scale),
                                                  int(hw[1] * plan.input_scale)))
    estimates = _estimates(facts, infer_s, plan.input_scale, plan.test_scale_candidates, plan.device, 1)
    spent_s += time.perf_counter() - started
    fixed = sum(v for k, v in estimates.items() if k not in ('val_pass', 'val_inside_training'))
    plan.train_seconds = plan.time_budget_s - spent_s - fixed - estimates['val_pass']
    estimates['plan_and_import'] = spent_s
    plan.estimates_s = {k: round(v, 1) for k, v in estimates.items()}
    iteration_s = plan.train_seconds - estimates['val_inside_training']
    iters = int(iteration_s / plan.step_seconds)
    if iters < 10:
        need = plan.time_budget_s - iteration_s + 10 * plan.step_seconds
        raise PlanError(f'A time budget of {plan.time_budget_s:.0f} s leaves room for {iters} training '
                        f'steps of {plan.step_seconds:.2f} s after {fixed + spent_s:.0f} s of import, '
                        f'planning, start-up, validation, test and report. Fix: give at least '
                        f'--time-budget {need / 60:.1f}m.')
    plan.max_iters = iters
    plan.warmup_iters = min(100, iters // 6)
    plan.val_interval = max(1, iters // 2)
    plan.checkpoint_interval = max(1, iters // 4)
    plan.log_interval = max(1, min(50, iters // 20))
    plan.reasons.append(('max_iters', iters, (
        f'{plan.train_seconds:.0f} s for training ({plan.time_budget_s:.0f} s budget minus '
        f'{spent_s:.0f} s import+plan and {fixed + estimates["val_pass"]:.0f} s estimated for start-up, '
        f'final validation, scale selection, test and report) / {plan.step_seconds:.3f} s per step; '
        'TimeBudgetHook ends training when the time is spent, whatever the count')))
    plan.reasons.append(('val_interval', plan.val_interval, 'validation at the middle and the end '
                         '(curves); the test split is never used for a choice'))
    plan.reasons.append(('checkpoint_interval', plan.checkpoint_interval,
                         'four checkpoints per run (two kept), for --resume'))


def format_plan(plan: Plan) -> str:
    """The plan as text: one line per setting with its reason."""
    lines = [f'Plan for {plan.data_root} ({plan.num_classes} classes, {plan.channels} channel(s), '
             f'{plan.device}, budget {plan.time_budget_s / 60:.1f} min) -> {plan.config_path}']
    lines += [f'  {name:<22} {value}\n  {"":<22}   because {reason}' for name, value, reason in plan.reasons]
    return '\n'.join(lines)
