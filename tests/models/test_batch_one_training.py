"""Issue 11: PPMHead trains with one image per device (BN, GN, SyncBN)."""
import pytest
import torch
import torch.distributed as dist
from mmseg.registry import MODELS

from psp_plugin.models import PPMHead
from psp_plugin.models.single_value_norm import normalize_allowing_single_value, sees_single_value
from psp_plugin.testing.pspnet_builders import build_model, pspnet_cfg, randomize_norm_layers, seg_samples

HEAD_CFG = dict(in_channels=16, channels=8, num_classes=3, in_index=0)
NORM_CFGS = {
    'BN': dict(type='BN', requires_grad=True),
    'GN': dict(type='GN', num_groups=4, requires_grad=True),
    'SyncBN': dict(type='SyncBN', requires_grad=True),
}


@pytest.mark.parametrize('height, width', [(64, 64), (97, 131)])
def test_training_step_at_batch_one(height, width):
    torch.manual_seed(0)
    model = build_model(
        pspnet_cfg(ours=True, depth=18, base_channels=16)).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = [torch.randint(0, 256, (3, height, width)).float()]
    data = model.data_preprocessor(
        dict(inputs=images,
             data_samples=seg_samples(1, height, width, num_classes=5)),
        training=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}

    losses = model.loss(data['inputs'], data['data_samples'])
    loss = losses['decode.loss_ce'] + losses['aux.loss_ce']
    assert torch.isfinite(loss)
    optimizer.zero_grad()
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    optimizer.step()

    after = model.state_dict()
    assert not torch.equal(before['decode_head.psp_modules.0.1.bn.weight'],
                           after['decode_head.psp_modules.0.1.bn.weight'])
    # the 1x1 bin kept its running statistics; the 2x2 bin updated them
    for buffer in ('running_mean', 'running_var', 'num_batches_tracked'):
        key = f'decode_head.psp_modules.0.1.bn.{buffer}'
        assert torch.equal(before[key], after[key])
    assert after['decode_head.psp_modules.1.1.bn.num_batches_tracked'] == 1


def test_mmseg_psphead_fails_at_batch_one():
    """The trap this module avoids (so the tests above can fail)."""
    head = MODELS.build(dict(type='PSPHead', norm_cfg=NORM_CFGS['BN'],
                             **HEAD_CFG)).train()
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        head((torch.rand(1, 16, 9, 9), ))


@pytest.mark.parametrize('factorized', [False, True])
@pytest.mark.parametrize('norm', ['BN', 'SyncBN'])
def test_batch_two_equals_mmseg_head_outputs_and_gradients(norm, factorized):
    """The literal fusion to 1e-6; the factorized one (issue 18) sums in another order, so
    gradients as large as 60 differ in the 7th digit."""
    rtol, atol = (1e-5, 1e-4) if factorized else (0, 1e-6)
    cfg = dict(norm_cfg=NORM_CFGS[norm], dropout_ratio=0.0, **HEAD_CFG)
    reference = MODELS.build(dict(type='PSPHead', **cfg)).train()
    randomize_norm_layers(reference)
    ours = PPMHead(factorized_fusion=factorized, **cfg).train()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.rand(2, 16, 9, 11)
    results = []
    for head in (ours, reference):
        inputs = x.clone().requires_grad_()
        logits = head((inputs, ))
        (logits * torch.linspace(-1, 1, logits.numel()).view_as(logits)
         ).sum().backward()
        results.append((logits, inputs.grad, dict(head.named_parameters()),
                        head.state_dict()))
    (out, xgrad, params, state), (ref, ref_xgrad, ref_params,
                                  ref_state) = results
    torch.testing.assert_close(out, ref, rtol=rtol, atol=atol)
    torch.testing.assert_close(xgrad, ref_xgrad, rtol=rtol, atol=atol)
    for name, param in params.items():
        torch.testing.assert_close(
            param.grad, ref_params[name].grad, rtol=rtol, atol=atol, msg=name)
    for key, value in state.items():
        torch.testing.assert_close(value, ref_state[key], msg=key)


@pytest.mark.parametrize('factorized', [False, True])
@pytest.mark.parametrize('batch', [1, 2])
def test_eval_outputs_equal_mmseg_head(batch, factorized):
    """The literal fusion bit for bit; the factorized one (issue 18) within float rounding."""
    cfg = dict(norm_cfg=NORM_CFGS['BN'], **HEAD_CFG)
    reference = MODELS.build(dict(type='PSPHead', **cfg)).eval()
    randomize_norm_layers(reference)
    ours = PPMHead(factorized_fusion=factorized, **cfg).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.rand(batch, 16, 7, 5)
    with torch.no_grad():
        torch.testing.assert_close(ours((x, )), reference((x, )), rtol=0,
                                   atol=1e-5 if factorized else 0)


@pytest.mark.parametrize('norm', sorted(NORM_CFGS))
@pytest.mark.parametrize('pool_scales', [(1, ), (1, 2, 3, 6), (2, 3, 6),
                                         (1, 2, 3, 6, 8)])
@pytest.mark.parametrize('size', [(4, 4), (9, 13)])
def test_batch_one_every_pool_scale_and_norm(norm, pool_scales, size):
    head = PPMHead(pool_scales=pool_scales, norm_cfg=NORM_CFGS[norm],
                   **HEAD_CFG).train()
    logits = head((torch.rand(1, 16, *size), ))
    logits.pow(2).mean().backward()
    assert logits.shape == (1, 3, *size) and torch.isfinite(logits).all()
    for name, param in head.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all()


def test_single_value_detection():
    bn = torch.nn.BatchNorm2d(4)
    one_value = torch.rand(1, 4, 1, 1)
    assert sees_single_value(bn.train(), one_value)
    assert not sees_single_value(bn.train(), torch.rand(2, 4, 1, 1))
    assert not sees_single_value(bn.train(), torch.rand(1, 4, 1, 2))
    assert not sees_single_value(bn.eval(), one_value)
    assert not sees_single_value(torch.nn.GroupNorm(2, 4), one_value)
    assert sees_single_value(torch.nn.SyncBatchNorm(4).train(), one_value)


def test_single_value_uses_running_statistics_and_trains_affine():
    bn = torch.nn.BatchNorm2d(3).train()
    randomize_norm_layers(bn)
    x = torch.rand(1, 3, 1, 1)
    out = normalize_allowing_single_value(bn, x)
    torch.testing.assert_close(out, bn.eval()(x))
    out.sum().backward()
    assert bn.weight.grad is not None and bn.bias.grad is not None
    bn_no_stats = torch.nn.BatchNorm2d(3, track_running_stats=False).train()
    with pytest.raises(ValueError, match='track_running_stats=False'):
        normalize_allowing_single_value(bn_no_stats, x)


def test_syncbn_across_processes_is_left_to_syncbn():
    """With >1 processes SyncBN pools world_size values per channel itself;
    every rank must then take the same (collective) path."""
    fake_pg = pytest.importorskip(
        'torch.testing._internal.distributed.fake_pg')
    one_value = torch.rand(1, 4, 1, 1)
    dist.init_process_group(
        'fake', store=fake_pg.FakeStore(), rank=0, world_size=2)
    try:
        assert not sees_single_value(torch.nn.SyncBatchNorm(4).train(),
                                     one_value)
        assert sees_single_value(torch.nn.BatchNorm2d(4).train(), one_value)
    finally:
        dist.destroy_process_group()
    assert sees_single_value(torch.nn.SyncBatchNorm(4).train(), one_value)
