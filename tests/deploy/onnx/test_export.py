"""ONNX export: fixed-range pyramid pooling, ONNX Runtime parity, dynamic batch, size errors."""
import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from torch import nn

from psp_plugin.cli.main import main
from psp_plugin.deploy.onnx import export as export_onnx
from psp_plugin.deploy.onnx.fixed_range_pooling import FixedRangeAvgPool2d, FixedRangeMaxPool2d, bin_ranges
from psp_plugin.deploy.onnx.verify import mmseg_reference_logits
from psp_plugin.testing.tiny_pspnet import save_config_and_checkpoint

pytestmark = pytest.mark.skipif(not export_onnx.torch_supports_export(),
                                reason='ONNX export needs torch >= 2.5 (dynamo exporter)')

# 97x131 gives 13x17 features at output stride 8: bins 2, 3 and 6 divide neither side.
HEIGHT, WIDTH = 97, 131


@pytest.mark.parametrize('in_size', [(13, 17), (6, 6), (7, 5)])
@pytest.mark.parametrize('bins', [1, 2, 3, 6])
def test_fixed_range_pooling_equals_adaptive_pooling(in_size, bins):
    x = torch.randn(2, 3, *in_size)
    avg = FixedRangeAvgPool2d(in_size, (bins, bins))(x)
    torch.testing.assert_close(avg, nn.AdaptiveAvgPool2d(bins)(x), rtol=0, atol=1e-6)
    torch.testing.assert_close(FixedRangeMaxPool2d(in_size, (bins, bins))(x),
                               nn.AdaptiveMaxPool2d(bins)(x), rtol=0, atol=0)


class _BothPools(nn.Module):
    def __init__(self, in_size):
        super().__init__()
        self.avg = FixedRangeAvgPool2d(in_size, (6, 6))
        self.max = FixedRangeMaxPool2d(in_size, (3, 2))

    def forward(self, x):
        return self.avg(x), self.max(x)


def test_fixed_range_pooling_runs_in_onnxruntime(tmp_path):
    x = torch.randn(2, 4, 13, 17)
    program = torch.onnx.export(_BothPools((13, 17)), (x, ), dynamo=True, opset_version=18,
                                external_data=False, verbose=False)
    program.save(str(tmp_path / 'pools.onnx'))
    session = onnxruntime.InferenceSession(str(tmp_path / 'pools.onnx'),
                                           providers=['CPUExecutionProvider'])
    avg, max_ = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(avg, nn.AdaptiveAvgPool2d(6)(x).numpy(), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(max_, nn.AdaptiveMaxPool2d((3, 2))(x).numpy())


def test_fixed_range_pooling_refuses_other_sizes():
    with pytest.raises(ValueError, match='built for 13x17 features but got 12x17'):
        FixedRangeAvgPool2d((13, 17), (6, 6))(torch.randn(1, 2, 12, 17))


def test_bin_ranges_overlap_like_pytorch():
    assert bin_ranges(13, 6) == [(0, 3), (2, 5), (4, 7), (6, 9), (8, 11), (10, 13)]


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """Export the tiny PSPNet at 97x131 with the command line and --verify."""
    folder = tmp_path_factory.mktemp('onnx')
    config_file, checkpoint_file = save_config_and_checkpoint(folder)
    onnx_file = folder / 'tiny_pspnet.onnx'
    lines = export_onnx.export_checkpoint(str(config_file), str(checkpoint_file), out_file=str(onnx_file),
                                          height=HEIGHT, width=WIDTH, verify=True)
    return dict(config=config_file, checkpoint=checkpoint_file, onnx=onnx_file, lines=lines)


def test_verify_reports_parity_with_pytorch(exported):
    verdict = exported['lines'][-1]
    assert verdict.startswith('onnxruntime vs PyTorch on 2 images: max |logit diff| ')
    max_diff = float(verdict.split('max |logit diff| ')[1].split(',')[0])
    agreement = float(verdict.split('argmax agreement ')[1].split('%')[0])
    assert max_diff < 1e-3 and agreement > 99.9


def test_graph_has_dynamic_batch_and_fixed_size(exported):
    graph = onnx.load(str(exported['onnx']))
    assert max(op.version for op in graph.opset_import if op.domain in ('', 'ai.onnx')) >= 17
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].dim_value
    assert [d.dim_value for d in dims[1:]] == [3, HEIGHT, WIDTH]
    op_types = {node.op_type for node in graph.graph.node}
    assert 'MatMul' in op_types and not op_types & {'AveragePool', 'GlobalAveragePool'}


@pytest.mark.parametrize('batch', [1, 3])
def test_onnxruntime_matches_mmseg_at_other_batch_sizes(exported, batch):
    from mmseg.apis import init_model

    segmentor = init_model(str(exported['config']), str(exported['checkpoint']), device='cpu')
    images = np.random.default_rng(batch).integers(
        0, 256, (batch, 3, HEIGHT, WIDTH), dtype=np.uint8)
    reference = mmseg_reference_logits(segmentor, images)
    session = onnxruntime.InferenceSession(str(exported['onnx']),
                                           providers=['CPUExecutionProvider'])
    logits, labels = session.run(None, {'image': images.astype(np.float32)})
    assert logits.shape == (batch, 4, HEIGHT, WIDTH) and labels.shape == (batch, HEIGHT, WIDTH)
    assert np.abs(logits - reference).max() < 1e-3
    assert np.mean(labels == reference.argmax(axis=1)) > 0.999


def test_export_leaves_the_pytorch_model_unchanged(exported):
    from mmseg.apis import init_model

    segmentor = init_model(str(exported['config']), str(exported['checkpoint']), device='cpu')
    export_onnx.build_export_model(segmentor, height=HEIGHT, width=WIDTH)
    pools = [type(m) for m in segmentor.decode_head.modules() if 'Pool' in type(m).__name__]
    assert pools == [nn.AdaptiveAvgPool2d] * 4


@pytest.mark.parametrize('size, message', [
    ((16, 16), 'error: .*psp_modules.3.0 pools 2x2 features into 6x6 bins.*export at least 48x48'),
    ((0, 64), 'error: input size 0x64 is not positive'),
])
def test_command_explains_unsupported_sizes(exported, tmp_path, size, message):
    with pytest.raises(SystemExit, match=message):
        main([
            'export-onnx', '--config', str(exported['config']), '--checkpoint', str(exported['checkpoint']),
            '--input-size', str(size[0]), str(size[1]), '--out', str(tmp_path / 'x.onnx')])
    assert not (tmp_path / 'x.onnx').exists()


def test_old_opset_is_refused(exported, tmp_path):
    from mmseg.apis import init_model

    segmentor = init_model(str(exported['config']), str(exported['checkpoint']), device='cpu')
    with pytest.raises(ValueError, match='opset >= 17'):
        export_onnx.export_onnx(segmentor, out_file=tmp_path / 'x.onnx', height=64, width=64,
                                opset=13)
