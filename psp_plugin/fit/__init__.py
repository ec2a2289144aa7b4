"""psp_plugin.fit: from a prepared dataset to a planned, trained, tested and reported PSPNet.

Importing it registers :class:`TimeBudgetHook` and :class:`BF16AutocastOptimWrapper`, which
planned configs use (``custom_imports=['psp_plugin', 'psp_plugin.fit']``).
"""
from .bf16_optim_wrapper import BF16AutocastOptimWrapper
from .class_weighted_ce_loss import ClassWeightedCrossEntropyLoss
from .fit import fit, parse_duration, test_and_report
from .plan import Plan, PlanError, format_plan, load_plan, make_plan
from .select import select_test_scale
from .time_budget_hook import TimeBudgetHook
from .torch_threads_hook import TorchThreadsHook
from .train import TrainResult, train

__all__ = ['BF16AutocastOptimWrapper', 'ClassWeightedCrossEntropyLoss', 'Plan', 'PlanError', 'TimeBudgetHook',
           'TorchThreadsHook', 'TrainResult', 'fit',
           'format_plan', 'load_plan', 'make_plan', 'parse_duration', 'select_test_scale',
           'test_and_report', 'train']
