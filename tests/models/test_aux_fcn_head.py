"""AuxFCNHead: conv stack options, gradients, errors."""
import pytest
import torch

from psp_plugin.models import AuxFCNHead


def _head(**kwargs) -> AuxFCNHead:
    cfg = dict(in_channels=8, channels=4, num_classes=3, in_index=0,
               norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return AuxFCNHead(**cfg)


@pytest.mark.parametrize('num_convs, concat_input, kernel_size, dilation', [
    (1, False, 3, 1),
    (2, True, 3, 2),
    (0, True, 1, 1),
    (3, False, 5, 3),
])
def test_structure_and_shapes(num_convs, concat_input, kernel_size, dilation):
    channels = 8 if num_convs == 0 else 4
    head = _head(num_convs=num_convs, concat_input=concat_input,
                 kernel_size=kernel_size, dilation=dilation,
                 channels=channels).eval()
    convs = list(head.convs) if num_convs else []
    assert len(convs) == num_convs
    for conv_module in convs:
        assert conv_module.conv.kernel_size == (kernel_size, kernel_size)
        assert conv_module.conv.dilation == (dilation, dilation)
    assert hasattr(head, 'conv_cat') is concat_input
    with torch.no_grad():
        logits = head((torch.rand(2, 8, 11, 6), ))
    assert logits.shape == (2, 3, 11, 6)


def test_num_convs_zero_is_the_input_through_the_classifier():
    head = _head(num_convs=0, channels=8, dropout_ratio=0.0).eval()
    x = torch.rand(1, 8, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(head((x, )), head.conv_seg(x))


def test_gradient_reaches_every_parameter():
    head = _head(num_convs=2, concat_input=True, dropout_ratio=0.0).train()
    head((torch.rand(2, 8, 7, 7), )).pow(2).mean().backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_state_dict_keys_mirror_mmseg_fcnhead():
    keys = set(_head(num_convs=2, concat_input=True).state_dict())
    assert {'convs.0.conv.weight', 'convs.1.bn.running_var',
            'conv_cat.conv.weight', 'conv_cat.bn.weight', 'conv_seg.weight',
            'conv_seg.bias'} <= keys
    assert all(k.startswith(('convs.', 'conv_cat.', 'conv_seg.'))
               for k in keys)


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_convs=-1), 'num_convs=-1'),
    (dict(kernel_size=2), 'must be odd'),
    (dict(dilation=0), 'dilation=0'),
    (dict(num_convs=0, channels=4), r'model\.auxiliary_head\.channels=8'),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _head(**kwargs)


def test_in_channels_mismatch_and_in_index_errors():
    head = _head(in_channels=1024, in_index=0)
    with pytest.raises(ValueError, match=r'in_channels=1024.*256 channels.*'
                       r'model\.auxiliary_head\.in_channels=256'):
        head((torch.rand(1, 256, 5, 5), ))
    with pytest.raises(ValueError, match='gives 1 feature maps'):
        _head(in_index=2)((torch.rand(1, 8, 5, 5), ))
