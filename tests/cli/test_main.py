"""The ``psp-plugin`` console script: sub-commands, help, exit codes."""
import subprocess
import sys
from pathlib import Path

import pytest

from psp_plugin.cli.main import SUBCOMMAND_MODULES, build_parser, main


def _subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == 'command')
    return set(action.choices)


def test_every_listed_module_provides_its_sub_command():
    names = _subcommands()
    assert len(names) >= len(SUBCOMMAND_MODULES)
    assert {'export-onnx', 'main-job', 'predict', 'fit', 'plan', 'import'} <= names
    assert 'prepare-mni152' not in names  # the main job's data is written by `fit`'s source writer


def test_no_sub_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert 'usage: psp-plugin' in capsys.readouterr().out


def test_console_script_and_module_entry_point_agree():
    script = Path(sys.executable).with_name('psp-plugin')
    by_script = subprocess.run([str(script), '--help'], capture_output=True, text=True, check=True).stdout
    by_module = subprocess.run([sys.executable, '-m', 'psp_plugin.cli', '--help'], capture_output=True,
                               text=True, check=True).stdout
    assert by_script == by_module
    for name in _subcommands():
        assert name in by_script


def test_bad_arguments_exit_with_argparse_status(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(['export-onnx', '--config', 'c.py'])
    assert stopped.value.code == 2
    assert 'the following arguments are required: --input-size, --out' in capsys.readouterr().err
