"""The modules trace with torch.fx in eval mode (FX int8 quantization)."""
import pytest
import torch
from torch.fx import symbolic_trace

from psp_plugin.models import AuxFCNHead, DilatedResNet, PPMHead


class _BackboneAndHeads(torch.nn.Module):

    def __init__(self, backbone, decode_head, auxiliary_head) -> None:
        super().__init__()
        self.backbone = backbone
        self.decode_head = decode_head
        self.auxiliary_head = auxiliary_head

    def forward(self, images):
        feats = self.backbone(images)
        return self.decode_head(feats), self.auxiliary_head(feats)


def _set_norm_folding(module, fold: bool) -> None:
    for backbone in module.modules():
        if isinstance(backbone, DilatedResNet):
            backbone.fold_eval_norms = fold


def _as_tuple(outputs):
    return (outputs, ) if isinstance(outputs, torch.Tensor) else outputs


def _assert_traced_equals_eager(module, make_input, sizes):
    """The graph equals the modules as written exactly, and the eager forward
    (which folds eval-mode BatchNorms into the backbone convs) within rounding."""
    module.eval()
    traced = symbolic_trace(module)
    for size in sizes:
        inputs = make_input(size)
        with torch.no_grad():
            actual = _as_tuple(traced(inputs))
            folded = _as_tuple(module(inputs))
            _set_norm_folding(module, False)
            expected = _as_tuple(module(inputs))
            _set_norm_folding(module, True)
        assert len(actual) == len(expected) == len(folded)
        for a, e, f in zip(actual, expected, folded):
            torch.testing.assert_close(a, e, rtol=0, atol=0)
            torch.testing.assert_close(f, e, rtol=1e-5, atol=1e-5)
    return traced


@pytest.mark.parametrize('depth, output_stride', [(18, 8), (50, 16)])
def test_backbone_traces(depth, output_stride):
    backbone = DilatedResNet(depth=depth, output_stride=output_stride,
                             stem_channels=16, base_channels=16,
                             with_cp=True)
    traced = _assert_traced_equals_eager(
        backbone, lambda size: torch.rand(1, 3, *size), [(33, 47), (64, 64)])
    assert not any(node.op == 'call_function' and 'checkpoint' in str(
        node.target) for node in traced.graph.nodes)


@pytest.mark.parametrize('pool_type', ['avg', 'max'])
def test_ppm_head_traces(pool_type):
    head = PPMHead(in_channels=16, channels=8, num_classes=3, in_index=1,
                   pool_type=pool_type, align_corners=pool_type == 'max')
    _assert_traced_equals_eager(
        head, lambda size: (torch.rand(2, 4, *size), torch.rand(2, 16, *size)),
        [(4, 4), (9, 13)])


@pytest.mark.parametrize('concat_input', [False, True])
def test_aux_head_traces(concat_input):
    head = AuxFCNHead(in_channels=16, channels=8, num_classes=3, in_index=0,
                      num_convs=2, concat_input=concat_input)
    _assert_traced_equals_eager(head,
                                lambda size: (torch.rand(2, 16, *size), ),
                                [(5, 5), (9, 13)])


def test_backbone_with_heads_traces():
    model = _BackboneAndHeads(
        DilatedResNet(depth=18),
        PPMHead(in_channels=512, channels=16, num_classes=4, in_index=3),
        AuxFCNHead(in_channels=256, channels=8, num_classes=4, in_index=2))
    _assert_traced_equals_eager(model, lambda size: torch.rand(1, 3, *size),
                                [(41, 57)])
