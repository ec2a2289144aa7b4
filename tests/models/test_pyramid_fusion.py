"""The factorized pyramid fusion equals the plain upsample + concat + conv (issue 18)."""
import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch.fx import symbolic_trace

from psp_plugin.models import PPMHead
from psp_plugin.models.fusion_conv_module import factorization_blocker
from psp_plugin.models.pyramid_fusion import (
    branch_weight_matrices,
    factorized_fusion_conv,
    interpolation_matrix,
    tap_interpolation_matrix,
)

F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _plain_conv(x, pooled, weight, bias, *, align_corners, padding, dilation):
    upsampled = [F.interpolate(b, size=x.shape[-2:], mode='bilinear', align_corners=align_corners)
                 for b in pooled]
    return F.conv2d(torch.cat([x] + upsampled, 1), weight, bias, 1, padding, dilation)


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('in_size, out_size', [(1, 5), (2, 7), (3, 3), (6, 4), (6, 1), (5, 64)])
def test_interpolation_matrix_is_what_f_interpolate_computes(in_size, out_size, align_corners):
    for dtype, atol in ((F64, 1e-13), (torch.float32, 2e-6)):
        bins = torch.randn(2, 3, in_size, in_size + 1, dtype=dtype)
        rows = interpolation_matrix(in_size, out_size, align_corners, dtype=dtype)
        cols = interpolation_matrix(in_size + 1, out_size + 2, align_corners, dtype=dtype)
        assert rows.shape == (out_size, in_size) and rows.dtype == dtype
        expected = F.interpolate(bins, size=(out_size, out_size + 2), mode='bilinear',
                                 align_corners=align_corners)
        torch.testing.assert_close(rows @ bins @ cols.t(), expected, rtol=0, atol=atol)
        torch.testing.assert_close(rows.sum(1), torch.ones(out_size, dtype=dtype))


@pytest.mark.parametrize('kernel, padding, dilation', [(3, 1, 1), (3, 2, 2), (5, 1, 1), (1, 0, 1)])
def test_tap_matrix_moves_rows_by_the_tap_and_zero_pads(kernel, padding, dilation):
    plain = interpolation_matrix(3, 7, False, dtype=F64)
    taps = tap_interpolation_matrix(3, 7, False, kernel, padding, dilation, torch.device('cpu'), F64)
    length = 7 + 2 * padding - dilation * (kernel - 1)
    assert taps.shape == (length, kernel * 3)
    for tap in range(kernel):
        for row in range(length):
            source = row + tap * dilation - padding
            expected = plain[source] if 0 <= source < 7 else torch.zeros(3, dtype=F64)
            assert torch.equal(taps[row, tap * 3:(tap + 1) * 3], expected)
    assert tap_interpolation_matrix(3, 7, False, kernel, padding, dilation, torch.device('cpu'),
                                    F64) is taps  # cached per sizes, taps, device and dtype
    assert tap_interpolation_matrix(3, 7, False, kernel, padding, dilation, torch.device('cpu'),
                                    torch.float32).dtype == torch.float32


# (H, W), bins, kernel, padding, dilation: odd sizes, maps smaller than a bin, other kernels
CASES = [((9, 13), (1, 2, 3, 6), (3, 3), (1, 1), (1, 1)),
         ((4, 5), (1, 2, 3, 6), (3, 3), (1, 1), (1, 1)),
         ((1, 1), (1, 2), (3, 3), (1, 1), (1, 1)),
         ((8, 8), (3, ), (1, 1), (0, 0), (1, 1)),
         ((7, 10), (2, 5), (5, 3), (2, 0), (1, 1)),
         ((11, 6), (1, 6), (3, 3), (2, 3), (2, 3)),
         ((6, 9), (4, 1), (3, 3), (0, 0), (1, 1))]


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('size, bins, kernel, padding, dilation', CASES)
def test_factorized_conv_equals_plain_with_gradients(size, bins, kernel, padding, dilation,
                                                     align_corners):
    generator = torch.Generator().manual_seed(sum(size) + len(bins))
    split = (5, ) + (3, ) * len(bins)

    def rand(*shape):
        return torch.randn(*shape, dtype=F64, generator=generator).requires_grad_()

    x, weight, bias = rand(2, 5, *size), rand(4, sum(split), *kernel), rand(4)
    pooled = [rand(2, 3, s, s) for s in bins]
    inputs = [x, weight, bias, *pooled]
    layout = dict(align_corners=align_corners, padding=padding, dilation=dilation)
    expected = _plain_conv(x, pooled, weight, bias, **layout)
    actual = factorized_fusion_conv(x, pooled, weight, bias, **layout)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-12)
    grad_out = torch.randn(expected.shape, dtype=F64, generator=generator)
    for got, want in zip(torch.autograd.grad(actual, inputs, grad_out),
                         torch.autograd.grad(expected, inputs, grad_out)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def _assert_close(actual, expected, tolerance=1e-5, msg=''):
    """Largest difference at most ``tolerance`` x the largest magnitude (float32 sums reorder)."""
    assert actual.shape == expected.shape, msg
    scale = expected.abs().max().clamp_min(1e-12)
    assert ((actual - expected).abs().max() / scale).item() <= tolerance, msg


def _head_pair(**kwargs):
    """(factorized PPMHead, plain PPMHead) with the same random weights and BN statistics."""
    cfg = dict(in_channels=12, channels=6, num_classes=3, in_index=1, dropout_ratio=0.0,
               norm_cfg=dict(type='BN', requires_grad=True))
    cfg.update(kwargs)
    torch.manual_seed(0)
    factorized = PPMHead(**cfg)
    for name, tensor in factorized.state_dict().items():
        if tensor.is_floating_point():
            tensor.copy_(torch.rand_like(tensor) + 0.5 if 'var' in name else torch.randn_like(tensor))
    plain = PPMHead(factorized_fusion=False, **cfg)
    plain.load_state_dict(factorized.state_dict(), strict=True)
    assert factorized.factorized_fusion and not plain.factorized_fusion
    return factorized, plain


def _features(batch, size, seed=1, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 4, *size, generator=generator, dtype=dtype),
            torch.randn(batch, 12, *size, generator=generator, dtype=dtype).requires_grad_()]


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('batch, size, pool_scales', [
    (1, (9, 13), (1, 2, 3, 6)),   # batch 1: the 1x1 bin uses the single-value norm fallback
    (2, (9, 13), (1, 2, 3, 6)),
    (2, (4, 5), (1, 2, 3, 6)),    # features smaller than the 6x6 bins
    (3, (7, 7), (2, 5)),
    (1, (2, 1), (1, 3))])
def test_head_training_matches_plain_outputs_and_gradients(batch, size, pool_scales,
                                                           align_corners):
    """In float64, so that BN over 2-3 values (ill-conditioned gradients) is compared tightly."""
    factorized, plain = _head_pair(pool_scales=pool_scales, align_corners=align_corners)
    results = []
    for head in (factorized.double(), plain.double()):
        head.train()
        feats = _features(batch, size, dtype=F64)
        out = head(feats)
        grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(2), dtype=F64)
        out.backward(grad_out)
        results.append((out.detach(), feats[1].grad, head))
    (out_f, grad_f, _), (out_p, grad_p, _) = results
    _assert_close(out_f, out_p, 1e-9)
    _assert_close(grad_f, grad_p, 1e-9)
    plain_params = dict(plain.named_parameters())
    for name, param in factorized.named_parameters():
        _assert_close(param.grad, plain_params[name].grad, 1e-9, msg=name)
    plain_buffers = dict(plain.named_buffers())
    for name, buffer in factorized.named_buffers():  # BN statistics updated alike
        _assert_close(buffer.double(), plain_buffers[name].double(), 1e-9, msg=name)
    fallback_used = int(factorized.psp_modules[0][1].bn.num_batches_tracked) == 0
    assert fallback_used == (batch == 1 and pool_scales[0] == 1)


@pytest.mark.parametrize('norm_cfg', [dict(type='BN'), dict(type='GN', num_groups=2), None])
def test_head_inference_matches_plain(norm_cfg):
    factorized, plain = _head_pair(norm_cfg=norm_cfg)
    factorized.eval()
    plain.eval()
    for batch, size in ((1, (9, 13)), (2, (5, 4)), (1, (1, 1))):
        feats = _features(batch, size)
        with torch.no_grad():
            _assert_close(factorized(feats), plain(feats))


def test_branch_weights_are_cached_for_inference_and_rebuilt_when_the_weight_changes():
    weight = torch.randn(4, 6 + 2 * 3, 3, 3, requires_grad=True)
    split = (6, 3, 3)
    expected = [weight[:, 6:9].permute(0, 2, 3, 1).reshape(36, 3),
                weight[:, 9:12].permute(0, 2, 3, 1).reshape(36, 3)]
    with torch.no_grad():
        first = branch_weight_matrices(weight, split)
        assert branch_weight_matrices(weight, split) is first  # no copy on the second call
        torch.testing.assert_close(first, [e.detach() for e in expected], rtol=0, atol=0)
        weight.mul_(2)  # in place (as an optimizer step or load_state_dict): rebuilt
        changed = branch_weight_matrices(weight, split)
        assert changed is not first
        torch.testing.assert_close(changed, [2 * e.detach() for e in expected], rtol=0, atol=0)
    trained = branch_weight_matrices(weight, split)  # autograd: built each call, gradients flow
    assert trained is not changed and trained[0].requires_grad
    trained[1].sum().backward()
    assert weight.grad[:, 9:].eq(1).all() and weight.grad[:, :9].eq(0).all()


def test_traced_head_folds_the_bottleneck_batchnorm_into_the_factorized_map():
    factorized, plain = _head_pair()
    traced = symbolic_trace(factorized.eval())
    modules = {node.target for node in traced.graph.nodes if node.op == 'call_module'}
    assert 'bottleneck.bn' not in modules and 'bottleneck.activate' in modules
    assert 'bottleneck.bn' in {node.target for node in symbolic_trace(plain.eval()).graph.nodes
                               if node.op == 'call_module'}
    for size in ((9, 13), (3, 2)):
        feats = _features(1, size)
        with torch.no_grad():
            torch.testing.assert_close(traced(feats), factorized(feats), rtol=0, atol=0)
            _assert_close(traced(feats), plain.eval()(feats))


def test_switch_and_state_dict_keys():
    factorized, plain = _head_pair()
    assert list(factorized.state_dict()) == list(plain.state_dict())
    calls = []
    for head in (factorized, plain):
        handle = head.bottleneck.conv.register_forward_hook(lambda *args: calls.append(1))
        head(_features(2, (5, 5)))
        handle.remove()
    assert len(calls) == 1  # only the plain head runs the conv on the concatenation


def test_inexact_bottleneck_falls_back_to_the_plain_computation():
    split = (4, 2, 2)
    assert factorization_blocker(ConvModule(8, 3, 3, padding=1), split) is None
    assert 'stride' in factorization_blocker(ConvModule(8, 3, 3, stride=2, padding=1), split)
    assert 'ReflectionPad2d' in factorization_blocker(
        ConvModule(8, 3, 3, padding=1, padding_mode='reflect'), split)
    circular = ConvModule(8, 3, 3, padding=1)
    circular.conv.padding_mode = 'circular'  # (MMCV's ConvModule never passes 'circular' on)
    assert "'circular'" in factorization_blocker(circular, split)
    assert 'groups' in factorization_blocker(ConvModule(8, 4, 3, padding=1, groups=2), split)
    assert 'order' in factorization_blocker(
        ConvModule(8, 3, 3, padding=1, norm_cfg=dict(type='BN'), order=('norm', 'conv', 'act')),
        split)
    assert 'channels' in factorization_blocker(ConvModule(9, 3, 3, padding=1), split)
    head = PPMHead(in_channels=12, channels=6, num_classes=3, in_index=1,
                   conv_cfg=dict(type='Conv2dAdaptivePadding'))
    assert not head.factorized_fusion
    assert 'Conv2dAdaptivePadding' in factorization_blocker(head.bottleneck, head.channel_split)
    assert head.eval()(_features(1, (6, 7))).shape == (1, 3, 6, 7)


def _tiny_segmentors():
    """(factorized, plain) tiny plugin PSPNets with the same weights and random BN statistics."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from psp_plugin.testing.tiny_pspnet import randomize_bn_statistics, tiny_pspnet_config
    init_default_scope('mmseg')
    config = tiny_pspnet_config()
    torch.manual_seed(0)
    factorized = MODELS.build(config.model)
    randomize_bn_statistics(factorized)
    config.model.decode_head.factorized_fusion = False
    plain = MODELS.build(config.model)
    plain.load_state_dict(factorized.state_dict(), strict=True)
    assert factorized.decode_head.factorized_fusion and not plain.decode_head.factorized_fusion
    return factorized.eval(), plain.eval()


def test_fast_paths_run_the_factorized_fusion():
    """BN folding leaves no BatchNorm; fp32 equals the plain model; int8 quantizes the conv of x."""
    from psp_plugin.deploy.convert import build_fast_core
    from psp_plugin.deploy.logits_core import SegmentationLogitsCore
    factorized, plain = _tiny_segmentors()
    image = torch.randn(1, 3, 72, 104, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = plain._forward(image)
        cores = {precision: build_fast_core(
            SegmentationLogitsCore(factorized.backbone, factorized.decode_head), precision,
            calibration=[image]) for precision in ('fp32', 'bf16', 'int8')}
        outputs = {precision: core(image) for precision, core in cores.items()}
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in cores['fp32'].modules())
    _assert_close(outputs['fp32'], reference)
    for precision in ('bf16', 'int8'):
        agreement = (outputs[precision].argmax(1) == reference.argmax(1)).float().mean()
        assert agreement > 0.95, precision
    nodes = cores['int8'].core.graph.nodes
    targets = [str(node.target) for node in nodes]
    assert any('pyramid_term_of' in target for target in targets)
    assert 'quantized.conv2d' in targets  # the fusion conv of x, packed once (functional)
    assert 'decode_head.bottleneck.conv' not in {n.target for n in nodes if n.op == 'call_module'}


class _HeadOnly(torch.nn.Module):

    def __init__(self, head):
        super().__init__()
        self.head = head

    def forward(self, x):
        return self.head((x, ))


def test_onnx_export_of_the_factorized_head_equals_the_plain_head(tmp_path):
    """Exported as the plugin's exporter does (dynamo, opset 18; 12x18 features so that ONNX
    pools the bins itself); the interpolation-matrix cache holds no export-time tensors.
    align_corners=True here; tests/deploy/onnx exports whole models with False."""
    onnxruntime = pytest.importorskip('onnxruntime')
    pytest.importorskip('onnxscript')
    from psp_plugin.deploy.onnx.export import torch_supports_export
    from psp_plugin.models import pyramid_fusion
    if not torch_supports_export():
        pytest.skip('ONNX export needs torch >= 2.5 (dynamo exporter)')
    factorized, plain = _head_pair(in_index=0, align_corners=True)
    x = torch.randn(2, 12, 12, 18, generator=torch.Generator().manual_seed(0))
    program = torch.onnx.export(_HeadOnly(factorized.eval()), (x, ), dynamo=True, opset_version=18,
                                input_names=['x'], external_data=False, verbose=False)
    program.save(str(tmp_path / 'head.onnx'))
    assert all(type(matrix) is torch.Tensor for matrix in pyramid_fusion._TAP_MATRICES.values())
    session = onnxruntime.InferenceSession(str(tmp_path / 'head.onnx'),
                                           providers=['CPUExecutionProvider'])
    (logits, ) = session.run(None, {'x': x.numpy()})
    with torch.no_grad():
        _assert_close(torch.from_numpy(logits), plain.eval()((x, )))
