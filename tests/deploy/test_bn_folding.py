"""BatchNorm folding: the folded model computes the same function, without BN layers."""
import pytest
import torch
import torch.nn as nn

from psp_plugin.deploy import SegmentationLogitsCore, fold_batchnorm, trace_and_fold_batchnorm
from psp_plugin.deploy.bn_folding import trace_module
from psp_plugin.testing.small_toy_model import build_small_segmentor


def _randomize_batchnorm_statistics(module: nn.Module) -> None:
    generator = torch.Generator().manual_seed(0)
    for norm in module.modules():
        if isinstance(norm, nn.BatchNorm2d):
            channels = norm.num_features
            norm.running_mean.copy_(torch.randn(channels, generator=generator) * 0.5)
            norm.running_var.copy_(torch.rand(channels, generator=generator) * 2 + 0.1)
            norm.weight.data.copy_(torch.rand(channels, generator=generator) + 0.5)
            norm.bias.data.copy_(torch.randn(channels, generator=generator) * 0.1)


def test_folded_pspnet_equals_unfolded(small_toy_cfg):
    segmentor = build_small_segmentor(small_toy_cfg)
    _randomize_batchnorm_statistics(segmentor)
    core = SegmentationLogitsCore(segmentor.backbone, segmentor.decode_head).eval()
    norms_before = sum(isinstance(m, nn.BatchNorm2d) for m in core.modules())
    folded = trace_and_fold_batchnorm(core)
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, actual = core(image), folded(image)
    assert norms_before > 20
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert actual.shape == expected.shape == (2, small_toy_cfg.model.decode_head.num_classes, 8, 8)
    assert torch.allclose(actual, expected, atol=1e-4, rtol=1e-4)
    assert any(isinstance(m, nn.BatchNorm2d) for m in core.modules()), 'input was changed'


def test_batchnorm_read_twice_is_not_folded():
    conv, norm = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4).eval()

    class ConvFeedsTwoConsumers(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.norm = conv, norm

        def forward(self, x):
            features = self.conv(x)
            return self.norm(features) + features

    graph, count = fold_batchnorm(trace_module(ConvFeedsTwoConsumers()))
    assert count == 0
    assert isinstance(graph.norm, nn.BatchNorm2d)


def test_untraceable_module_gets_a_clear_error():
    class DataDependentBranch(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    with pytest.raises(RuntimeError, match='cannot be traced by torch.fx'):
        trace_and_fold_batchnorm(DataDependentBranch())
