"""TimeBudgetHook: end training safely when its wall-time budget is spent, with progress and ETA.

A planned config (``psp_plugin.fit.plan``) sets ``max_iters`` from a step time measured on the
machine that planned it; this hook makes the *time* decide on any machine. After every training
iteration it adds the iteration's wall time (validation passes inside the loop included) to the
time spent; when one more iteration would overrun the budget it shortens the loop to end at this
iteration, so the ``CheckpointHook`` saves a last checkpoint and
the final validation runs as after a normal last iteration (that last pass is not in the budget;
the planner budgets it separately). "One more iteration" is the slower of the median of the last 20
steps and the last step, both without the validation passes (timed apart): a machine that suddenly
gets busy then stops the run after one slow step, not after the median has caught up with it.
Every ``log_interval`` iterations it also projects how many
iterations the remaining time allows at the median step; when that differs from the plan by more
than 3 % (a slower, faster, busier or idler machine than when the step was measured), it moves the
end of the loop *and* of the learning-rate schedules that end with it (never beyond twice the
planned count), so the schedule still decays fully when the time is spent. The time spent is
stored in each checkpoint (``meta['psp_train_seconds']``) with the loop's end at that moment
(``meta['psp_loop_end']``), so ``--resume`` continues with what is left of the budget towards the
end the hook had set, and a run that had ended (by its budget or at its last iteration) trains no
further.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Optional

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

__all__ = ['TimeBudgetHook']

SPENT_KEY = 'psp_train_seconds'
LOOP_END_KEY = 'psp_loop_end'


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    """Stop training when ``train_seconds`` of wall time are spent; log progress and ETA.

    Args:
        train_seconds (float): Wall-time budget of the training loop (iterations and the
            validation passes inside it), in seconds.
        log_interval (int): Print progress every this many iterations. Default: 20.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook (VERY_LOW) sees the shortened loop

    def __init__(self, train_seconds: float, log_interval: int = 20) -> None:
        if train_seconds <= 0:
            raise ValueError(f'TimeBudgetHook(train_seconds={train_seconds}): the budget must be > 0 '
                             'seconds; set custom_hooks[...].train_seconds in the config.')
        self.train_seconds = float(train_seconds)
        self.log_interval = log_interval
        self.spent = 0.0
        self.stopped_early_at: Optional[int] = None
        self._last_tick: Optional[float] = None
        self._recent_steps: deque = deque(maxlen=20)
        self._first_planned: Optional[int] = None
        self._resumed_loop_end: Optional[int] = None
        self._val_started: Optional[float] = None
        self._val_seconds = 0.0

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Continue from the time a resumed checkpoint had spent and the loop end it had."""
        meta = checkpoint.get('meta', {})
        self.spent = float(meta.get(SPENT_KEY, 0.0))
        self._resumed_loop_end = meta.get(LOOP_END_KEY)

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Store the time spent so far and where the loop now ends, for ``--resume``."""
        meta = checkpoint.setdefault('meta', {})
        meta[SPENT_KEY] = self.spent + self._since_tick()
        meta[LOOP_END_KEY] = int(runner.train_loop.max_iters)

    def before_train(self, runner: Any) -> None:
        """Start the clock; a resumed run continues to the loop end its checkpoint had.

        A run that ended (its checkpoint was saved at that end, by the budget or at the last
        iteration) or whose budget is spent trains no further.
        """
        self._last_tick = time.perf_counter()
        loop = runner.train_loop
        if self._resumed_loop_end is not None:
            self._first_planned = loop.max_iters  # the config's count bounds any extension
            loop._max_iters = int(self._resumed_loop_end)
        if self.spent >= self.train_seconds:
            print_log(f'TimeBudgetHook: the budget of {self.train_seconds:.0f} s was spent '
                      f'({self.spent:.0f} s); no further training.', logger='current')
            runner.train_loop.stop_training = True

    def before_val(self, runner: Any) -> None:
        """Time a validation pass inside the training loop apart from the steps."""
        self._val_started = time.perf_counter()

    def after_val(self, runner: Any) -> None:
        if self._val_started is not None:
            self._val_seconds += time.perf_counter() - self._val_started
            self._val_started = None

    def _since_tick(self) -> float:
        return 0.0 if self._last_tick is None else time.perf_counter() - self._last_tick

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Count the iteration's time; shorten the loop when the next one would not fit."""
        step = self._since_tick()
        self._last_tick = time.perf_counter()
        self.spent += step
        pure_step = max(step - self._val_seconds, 0.0)  # a validation pass ran before this step
        self._val_seconds = 0.0
        self._recent_steps.append(pure_step)
        typical_step = float(np.median(self._recent_steps))
        loop = runner.train_loop
        done, planned = runner.iter + 1, loop.max_iters
        left = self.train_seconds - self.spent
        if done < planned and left < max(typical_step, pure_step):
            loop._max_iters = done  # this iteration becomes the last: checkpoint + final validation
            self.stopped_early_at = done
            print_log(f'TimeBudgetHook: {self.spent:.0f} s of the {self.train_seconds:.0f} s budget '
                      f'spent; training ends at iteration {done} of the {planned} planned.',
                      logger='current')
        elif done % self.log_interval == 0 and done >= 10:
            self._fit_to_budget(runner, done, planned, left, typical_step)
        if done % self.log_interval == 0 or done == loop.max_iters:
            planned = loop.max_iters
            eta = min((planned - done) * typical_step, max(left, 0.0))
            print_log(f'progress: iteration {done}/{planned} ({100 * done / planned:.0f}%), '
                      f'{self.spent:.0f} s of the {self.train_seconds:.0f} s budget spent, '
                      f'ETA {eta:.0f} s', logger='current')

    def _fit_to_budget(self, runner: Any, done: int, planned: int, left: float, typical_step: float) -> None:
        """Move the end of the loop and of the schedules that end with it to the projected count."""
        if self._first_planned is None:
            self._first_planned = planned
        projected = min(done + int(left / typical_step), 2 * self._first_planned)
        if abs(projected - planned) <= 0.03 * planned or projected <= done:
            return
        runner.train_loop._max_iters = projected
        schedulers = runner.param_schedulers
        for scheduler in schedulers if isinstance(schedulers, list) else sum(schedulers.values(), []):
            if scheduler.end >= planned:
                scheduler.end = projected
                if hasattr(scheduler, 'total_iters'):
                    scheduler.total_iters = projected - scheduler.begin - 1
        print_log(f'TimeBudgetHook: at {typical_step:.2f} s per step the {max(left, 0):.0f} s left allow '
                  f'{projected - done} more iterations; the loop and learning-rate schedule now end at '
                  f'{projected} instead of {planned}.', logger='current')
