"""DilatedResNet: shapes, dilation pattern, options and errors."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from psp_plugin.models import DilatedResNet
from psp_plugin.testing.pspnet_builders import STAGE4_CHANNELS


def _ceil_div(size: int, stride: int) -> int:
    return -(-size // stride)


@pytest.mark.parametrize('output_stride', [8, 16])
@pytest.mark.parametrize('depth', [18, 34, 50, 101, 152])
def test_output_shapes_every_depth(depth, output_stride):
    # depth > 18 runs on the meta device (real shapes, no arithmetic); the
    # parity tests run ResNet-18/50 on real tensors
    device = 'meta' if depth > 18 else 'cpu'
    height, width = 33, 47
    with torch.device(device), torch.no_grad():
        model = DilatedResNet(depth=depth, output_stride=output_stride).eval()
        outs = model(torch.empty(1, 3, height, width).uniform_())
    expansion = STAGE4_CHANNELS[depth] // 512
    stage_strides = (4, 8, 8, 8) if output_stride == 8 else (4, 8, 16, 16)
    assert len(outs) == 4
    for index, (out, stride) in enumerate(zip(outs, stage_strides)):
        assert tuple(out.shape) == (1, 64 * 2**index * expansion,
                                    _ceil_div(height, stride),
                                    _ceil_div(width, stride))
    assert model.out_channels == tuple(o.shape[1] for o in outs)


@pytest.mark.parametrize('size', [(1, 1), (5, 3), (64, 64), (31, 17)])
def test_any_input_size_gives_ceil_of_output_stride(size):
    model = DilatedResNet(depth=18, output_stride=32, out_indices=(3, )).eval()
    with torch.no_grad():
        (out, ) = model(torch.rand(1, 3, *size))
    assert out.shape[-2:] == (_ceil_div(size[0], 32), _ceil_div(size[1], 32))


def _conv_dilations(model, stage: int, conv: str = 'conv2'):
    return [getattr(block, conv).dilation[0]
            for block in getattr(model, f'layer{stage}')]


def test_dilation_pattern_per_block_os8_bottleneck():
    model = DilatedResNet(depth=50, output_stride=8)
    assert _conv_dilations(model, 1) == [1, 1, 1]
    assert _conv_dilations(model, 2) == [1, 1, 1, 1]
    assert _conv_dilations(model, 3) == [1, 2, 2, 2, 2, 2]
    assert _conv_dilations(model, 4) == [2, 4, 4]
    assert [b.conv2.stride[0] for b in model.layer2] == [2, 1, 1, 1]
    assert [b.conv2.stride[0] for b in model.layer3] == [1] * 6
    for stage in (1, 2, 3, 4):
        for block in getattr(model, f'layer{stage}'):
            assert block.conv2.padding == block.conv2.dilation
            assert block.conv1.dilation == block.conv3.dilation == (1, 1)


def test_dilation_pattern_basic_block_and_options():
    model = DilatedResNet(depth=18, output_stride=8, contract_dilation=False)
    assert _conv_dilations(model, 3, 'conv1') == [2, 2]
    assert _conv_dilations(model, 4, 'conv1') == [4, 4]
    # as in MMSeg (and its checkpoints) the second 3x3 conv is undilated
    assert _conv_dilations(model, 4, 'conv2') == [1, 1]
    model = DilatedResNet(depth=50, output_stride=16, multi_grid=(1, 2, 4))
    assert _conv_dilations(model, 3) == [1] * 6
    assert _conv_dilations(model, 4) == [1, 2, 4]
    model = DilatedResNet(depth=50, output_stride=16)
    assert _conv_dilations(model, 4) == [1, 2, 2]


def test_explicit_strides_and_dilations_equal_output_stride():
    explicit = DilatedResNet(
        depth=18, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2))
    by_name = DilatedResNet(depth=18, output_stride=16)
    assert explicit.strides == by_name.strides == (1, 2, 2, 1)
    assert explicit.dilations == by_name.dilations == (1, 1, 1, 2)
    default = DilatedResNet(depth=18)
    assert (default.strides, default.dilations) == ((1, 2, 1, 1),
                                                    (1, 1, 2, 4))


def test_mmseg_resnet_arguments_port_over_or_explain():
    model = DilatedResNet(depth=18, num_stages=4, style='pytorch')
    assert model.out_channels == (64, 128, 256, 512)
    for kwargs, match in [(dict(num_stages=3), 'remove num_stages'),
                          (dict(pretrained='open-mmlab://resnet18_v1c'),
                           "init_cfg=dict\\(type='Pretrained'"),
                          (dict(dcn=dict()), 'unexpected argument dcn')]:
        with pytest.raises(TypeError, match=match):
            DilatedResNet(depth=18, **kwargs)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(depth=42), KeyError, 'depth=42 is not supported'),
    (dict(output_stride=4), ValueError, 'output_stride=4 is not supported'),
    (dict(output_stride=8, strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1)),
     ValueError, 'remove one of them'),
    (dict(strides=(1, 2, 1, 1)), ValueError, 'only one of strides'),
    (dict(strides=(1, 2, 1), dilations=(1, 1, 2)), ValueError,
     '4 positive ints'),
    (dict(multi_grid=(1, 2, 4)), ValueError, '2 blocks at this depth'),
    (dict(out_indices=(4, )), ValueError, 'subset of'),
    (dict(frozen_stages=5), ValueError, r'\[-1, 4\]'),
])
def test_bad_options_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        DilatedResNet(**{'depth': 18, **kwargs})


def test_gradient_reaches_every_parameter():
    model = DilatedResNet(depth=18, stem_channels=16, base_channels=8).train()
    sum(out.mean() for out in model(torch.rand(2, 3, 32, 32))).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize('depth', [18, 50])
def test_with_cp_same_outputs_and_gradients(depth):
    torch.manual_seed(0)
    narrow = dict(depth=depth, stem_channels=16, base_channels=8,
                  out_indices=(2, 3))
    plain = DilatedResNet(**narrow).train()
    checkpointed = DilatedResNet(**narrow, with_cp=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    images = torch.rand(2, 3, 35, 29)
    conv_calls = {id(plain): 0, id(checkpointed): 0}
    for model in (plain, checkpointed):
        model.layer4[0].conv1.register_forward_hook(
            lambda module, args, out, key=id(model): conv_calls.update(
                {key: conv_calls[key] + 1}))
    results = []
    for model in (plain, checkpointed):
        x = images.clone().requires_grad_()
        outs = model(x)
        sum((out * out).mean() for out in outs).backward()
        results.append((outs, x.grad, {
            name: p.grad.clone() for name, p in model.named_parameters()
        }))
    (outs_a, xgrad_a, grads_a), (outs_b, xgrad_b, grads_b) = results
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(xgrad_a, xgrad_b, rtol=1e-6, atol=1e-7)
    for name in grads_a:
        torch.testing.assert_close(
            grads_a[name], grads_b[name], rtol=1e-5, atol=1e-7, msg=name)
    # the checkpointed block really ran twice (forward + recomputation) ...
    assert conv_calls == {id(plain): 1, id(checkpointed): 2}
    # ... yet BatchNorm statistics were updated once, as without it
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(checkpointed.state_dict()[key], value,
                                   msg=key)


def test_frozen_stages_and_norm_eval():
    model = DilatedResNet(depth=18, frozen_stages=1, norm_eval=True).train()
    for name, param in model.named_parameters():
        frozen = name.startswith(('stem.', 'layer1.'))
        assert param.requires_grad is not frozen, name
    assert all(not m.training for m in model.modules()
               if isinstance(m, _BatchNorm))
    assert model.layer2.training and not model.stem.training
    unfrozen = DilatedResNet(depth=18).train()
    assert all(m.training for m in unfrozen.modules())


def test_default_init_zeroes_last_norm_of_each_block():
    model = DilatedResNet(depth=50, stem_channels=16, base_channels=8)
    model.init_weights()
    for stage in (model.layer1, model.layer4):
        for block in stage:
            assert torch.count_nonzero(block.bn3.weight) == 0
            assert torch.all(block.bn1.weight == 1)
            assert block.conv2.weight.std() > 0


def test_group_norm_keeps_mmseg_names():
    model = DilatedResNet(
        depth=18, norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    keys = model.state_dict().keys()
    assert 'layer1.0.gn1.weight' in keys and 'stem.1.weight' in keys
    with torch.no_grad():
        out = model(torch.rand(1, 3, 32, 32))[-1]
    assert out.shape == (1, 512, 4, 4)
