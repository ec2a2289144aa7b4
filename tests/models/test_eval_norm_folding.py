"""Eval-mode BatchNorms folded into the backbone convs: same values, and only where exact."""
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from psp_plugin.models import DilatedResNet, eval_norm_folding
from psp_plugin.models.eval_norm_folding import conv_then_norm, folded_conv_weights
from psp_plugin.testing.pspnet_builders import randomize_norm_layers


@pytest.fixture(autouse=True)
def fold_at_any_size(monkeypatch):
    """Fold whatever the map size (the size rule has its own test)."""
    monkeypatch.setattr(eval_norm_folding, 'MIN_POSITIONS_PER_WEIGHT', 0.0)


class _BatchNormCalls(TorchDispatchMode):
    """Counts the aten batch-norm kernels that run inside the mode."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 'batch_norm' in str(func)
        return func(*args, **(kwargs or {}))


def _backbone(depth: int, dtype=torch.float32, **kwargs) -> DilatedResNet:
    torch.manual_seed(depth)
    model = DilatedResNet(depth=depth, stem_channels=16, base_channels=8, **kwargs)
    randomize_norm_layers(model, seed=depth)
    return model.to(dtype).eval()


def _outputs(model, images, *, fold: bool, grad: bool = False):
    model.fold_eval_norms = fold
    calls = _BatchNormCalls()
    with torch.set_grad_enabled(grad), calls:
        outputs = model(images)
    return outputs, calls.count


@pytest.mark.parametrize('depth, output_stride', [(18, 8), (50, 16)])
@pytest.mark.parametrize('dtype, tolerance', [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_folded_backbone_equals_the_modules_as_written(depth, output_stride, dtype, tolerance):
    model = _backbone(depth, dtype, output_stride=output_stride)
    images = torch.rand(2, 3, 37, 45, dtype=dtype)
    folded, folded_norm_calls = _outputs(model, images, fold=True)
    plain, plain_norm_calls = _outputs(model, images, fold=False)
    assert folded_norm_calls == 0
    assert plain_norm_calls == sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    for a, b in zip(folded, plain):
        assert a.shape == b.shape and a.dtype == dtype
        torch.testing.assert_close(a, b, rtol=tolerance, atol=tolerance)


def test_setting_the_switch_reaches_every_block():
    model = _backbone(18)
    model.fold_eval_norms = False
    assert not any(getattr(m, 'fold_eval_norms', False) for m in model.modules())
    assert DilatedResNet(depth=18, fold_eval_norms=False).layer4[1].fold_eval_norms is False


@pytest.mark.parametrize('conv, norm', [
    (nn.Conv2d(6, 5, 3, stride=2, padding=2, dilation=2, bias=True), nn.BatchNorm2d(5)),
    (nn.Conv2d(6, 4, 1, groups=2, bias=False), nn.BatchNorm2d(4, affine=False)),
])
def test_folded_weights_match_conv_then_norm(conv, norm):
    randomize = torch.Generator().manual_seed(0)
    with torch.no_grad():
        norm.running_mean.copy_(torch.randn(norm.num_features, generator=randomize))
        norm.running_var.copy_(0.5 + torch.rand(norm.num_features, generator=randomize))
        if norm.affine:
            norm.weight.copy_(torch.randn(norm.num_features, generator=randomize))
            norm.bias.copy_(torch.randn(norm.num_features, generator=randomize))
    conv, norm = conv.double().eval(), norm.double().eval()
    x = torch.randn(2, 6, 9, 11, dtype=torch.float64, generator=randomize)
    weight, bias = folded_conv_weights(conv, norm)
    assert weight.shape == conv.weight.shape and bias.shape == (norm.num_features, )
    with torch.no_grad():
        torch.testing.assert_close(conv_then_norm(conv, norm, x), norm(conv(x)), rtol=1e-12, atol=1e-12)


def _plain_calls(model, images, **kwargs) -> int:
    """Batch-norm kernels run by one forward with folding on."""
    return _outputs(model, images, fold=True, **kwargs)[1]


def test_training_and_trainable_eval_norms_are_not_folded():
    """BatchNorm in train mode, or ``norm_eval`` while weights train, runs as written."""
    images = torch.rand(1, 3, 33, 33)
    model = _backbone(18)
    num_norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert _plain_calls(model.train(), images) == num_norms
    assert _plain_calls(model.eval(), images, grad=True) == num_norms
    frozen = _backbone(18, frozen_stages=4)  # nothing trains: no autograd graph to keep exact
    assert _plain_calls(frozen, images, grad=True) == 0


def test_hooks_autocast_and_other_convs_see_the_modules():
    images = torch.rand(1, 3, 33, 33)
    model = _backbone(18)
    seen = []
    handle = model.layer2[0].bn1.register_forward_hook(lambda *args: seen.append(args[2].shape))
    calls = _plain_calls(model, images)
    handle.remove()
    assert seen == [torch.Size([1, 16, 5, 5])] and calls == 1  # only the hooked norm ran
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert _plain_calls(model, images) > 0
    reflect = _backbone(18)
    reflect.stem[0].padding_mode = 'reflect'
    assert _plain_calls(reflect, images) == 1
    same = nn.Conv2d(3, 4, 3, padding='same')
    with torch.no_grad():
        assert not eval_norm_folding.can_fold(same, nn.BatchNorm2d(4).eval(), torch.rand(1, 3, 9, 9))


def test_norms_without_running_statistics_are_not_folded():
    model = DilatedResNet(depth=18, stem_channels=16, base_channels=8,
                          norm_cfg=dict(type='BN', track_running_stats=False)).eval()
    assert _plain_calls(model, torch.rand(2, 3, 33, 33)) > 0


@pytest.mark.parametrize('size, folded', [((8, 8), False), ((11, 11), False), ((12, 12), True)])
def test_small_maps_are_not_folded(monkeypatch, size, folded):
    """Folding pays where the output has >= MIN_POSITIONS_PER_WEIGHT positions per weight of one
    output channel: a 3x3 conv of 16 channels (144 weights) at factor 2 needs 288 positions,
    which a 2-image batch has from 12x12 outputs (stride 1, padding 1) on."""
    monkeypatch.setattr(eval_norm_folding, 'MIN_POSITIONS_PER_WEIGHT', 2.0)
    conv, norm = nn.Conv2d(16, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4).eval()
    with torch.no_grad():
        assert eval_norm_folding.can_fold(conv, norm, torch.rand(2, 16, *size)) is folded
