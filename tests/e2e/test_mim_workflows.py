"""`mim train` and `mim test` (plain, --show-dir, --tta) on the toy scenes, on CPU."""
import re
from pathlib import Path

import pytest
from mmengine.config import Config

from psp_plugin.testing.mim import TOY_CONFIG, run_mim

from .conftest import TOY_MAX_ITERS

pytestmark = pytest.mark.e2e
METRIC_LINE = re.compile(r'aAcc: (\d+\.\d+)\s+mIoU: (\d+\.\d+)\s+mAcc: (\d+\.\d+)'
                         r'\s+mDice: (\d+\.\d+)\s+mFscore: (\d+\.\d+)')


def _final_metrics(output: str) -> dict:
    matches = METRIC_LINE.findall(output)
    assert matches, f'no metrics line in the output:\n{output[-3000:]}'
    values = [float(v) for v in matches[-1]]
    return dict(zip(('aAcc', 'mIoU', 'mAcc', 'mDice', 'mFscore'), values))


def test_mim_train_trains_validates_and_checkpoints(toy_train_run: dict) -> None:
    work_dir = toy_train_run['work_dir']
    logs = list(work_dir.glob('*/*.log'))
    assert len(logs) == 1
    log = logs[0].read_text()
    assert log.count('mIoU:') == 2  # validated at iterations 10 and 20
    # Labelling every pixel background scores 15.99 mIoU on the toy val split.
    assert 20.0 < _final_metrics(log)['mIoU'] <= 100.0
    for name in ('decode.loss_ce', 'aux.loss_ce'):
        assert name in log
    assert (work_dir / f'iter_{TOY_MAX_ITERS}.pth').is_file()
    assert len(list(work_dir.glob('best_mIoU_iter_*.pth'))) == 1
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith(
        f'iter_{TOY_MAX_ITERS}.pth')


def test_mim_test_reports_metrics_and_writes_overlays(toy_train_run: dict,
                                                      tmp_path: Path) -> None:
    checkpoint = toy_train_run['work_dir'] / f'iter_{TOY_MAX_ITERS}.pth'
    show_dir = tmp_path / 'overlays'
    output = run_mim(['test', 'mmsegmentation', str(TOY_CONFIG), '--checkpoint', str(checkpoint),
                      '--gpus', '0', '--work-dir', str(tmp_path / 'test'),
                      '--show-dir', str(show_dir)],
                     data_root=toy_train_run['data_root'], cwd=tmp_path).output
    metrics = _final_metrics(output)
    train_log = next(toy_train_run['work_dir'].glob('*/*.log')).read_text()
    assert metrics['mIoU'] == _final_metrics(train_log)['mIoU']  # same weights, same data
    for class_name in ('background', 'disc', 'rectangle', 'triangle'):
        assert re.search(rf'\|\s+{class_name}\s+\|', output), f'{class_name} missing from the table'
    overlays = sorted(p.name for p in show_dir.rglob('*.png'))
    assert len(overlays) == 4
    for index, name in enumerate(overlays):
        assert f'scene_{index:04d}' in name


def test_mim_test_with_tta(toy_train_run: dict, tmp_path: Path) -> None:
    checkpoint = toy_train_run['work_dir'] / f'iter_{TOY_MAX_ITERS}.pth'
    work_dir = tmp_path / 'tta'
    output = run_mim(['test', 'mmsegmentation', str(TOY_CONFIG), '--checkpoint', str(checkpoint),
                      '--gpus', '0', '--work-dir', str(work_dir), '--tta'],
                     data_root=toy_train_run['data_root'], cwd=tmp_path).output
    assert 0.0 <= _final_metrics(output)['mIoU'] <= 100.0
    ran = Config.fromfile(work_dir / TOY_CONFIG.name)  # the config as MMSeg's test.py ran it
    assert ran.model.type == 'SegTTAModel' and ran.model.module.type == 'EncoderDecoder'
    assert [t.type for t in ran.test_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'TestTimeAug']
