"""docs/your-data.md: its commands and its Python block run on a small folder of images and masks."""

import argparse
import re
import shlex
from pathlib import Path

import numpy as np

from psp_plugin.cli import import_data
from psp_plugin.data import load_prepared

from .conftest import blob_mask, write_png

PAGE = Path(__file__).resolve().parents[2] / 'docs' / 'your-data.md'


def _blocks(lang: str) -> list[str]:
    return re.findall(rf'```{lang}\n(.*?)```', PAGE.read_text(encoding='utf-8'), flags=re.S)


def _my_data(folder: Path) -> None:
    for index in range(10):
        write_png(folder / 'my_data' / 'images' / f'p{index}.png', np.full((16, 16, 3), 20 * index, np.uint8))
        write_png(folder / 'my_data' / 'masks' / f'p{index}.png', blob_mask(16, 3, index))


def test_page_commands_run(tmp_path, monkeypatch, capsys):
    _my_data(tmp_path)
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser(prog='psp-plugin')
    import_data.add_parser(parser.add_subparsers())
    commands = [line for block in _blocks('bash') for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    for command in commands:
        words = shlex.split(command)
        assert words[:2] == ['psp-plugin', 'import']
        args = parser.parse_args(words[1:])
        assert args.func(args) == 0
    assert 'prepared images dataset' in capsys.readouterr().out
    assert len(load_prepared('prepared_seed1').splits['test']) == 2


def test_page_python_block_runs(tmp_path, monkeypatch, capsys):
    _my_data(tmp_path)
    monkeypatch.chdir(tmp_path)
    (block,) = _blocks('python')
    exec(compile(block, str(PAGE), 'exec'), {})
    assert "['class_0', 'class_1', 'class_2']" in capsys.readouterr().out


def test_cli_reports_bad_input_with_exit_status_2(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog='psp-plugin')
    import_data.add_parser(parser.add_subparsers())
    args = parser.parse_args(['import', str(tmp_path / 'missing'), '--out', str(tmp_path / 'out')])
    assert args.func(args) == 2
    assert 'is not a folder' in capsys.readouterr().err
