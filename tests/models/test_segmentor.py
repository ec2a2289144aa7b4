"""The modules inside MMSeg's EncoderDecoder: loss() and predict()."""
import torch
import torch.nn.functional as F

from psp_plugin.testing.pspnet_builders import build_model, pspnet_cfg, seg_samples

NARROW_PSPNET_R18 = pspnet_cfg(ours=True, depth=18, base_channels=16)


def _batch(model, batch: int, height: int, width: int, training: bool):
    images = [torch.randint(0, 256, (3, height, width)).float()
              for _ in range(batch)]
    data = dict(inputs=images,
                data_samples=seg_samples(batch, height, width, num_classes=5))
    return model.data_preprocessor(data, training=training)


def test_loss_through_encoder_decoder():
    model = build_model(NARROW_PSPNET_R18).train()
    data = _batch(model, 2, 64, 48, training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg', 'aux.loss_ce',
                           'aux.acc_seg'}
    for name in ('decode.loss_ce', 'aux.loss_ce'):
        assert torch.isfinite(losses[name]) and losses[name] > 0
    sum(losses[name] for name in ('decode.loss_ce', 'aux.loss_ce')).backward()
    assert model.backbone.stem[0].weight.grad is not None


def test_auxiliary_loss_is_weighted_cross_entropy_of_aux_logits():
    model = build_model(NARROW_PSPNET_R18).eval()
    data = _batch(model, 2, 40, 40, training=True)
    with torch.no_grad():
        losses = model.loss(data['inputs'], data['data_samples'])
        aux_logits = model.auxiliary_head(model.extract_feat(data['inputs']))
    labels = torch.stack(
        [s.gt_sem_seg.data[0] for s in data['data_samples']])
    expected = 0.4 * F.cross_entropy(
        F.interpolate(aux_logits, size=(40, 40), mode='bilinear'), labels)
    torch.testing.assert_close(losses['aux.loss_ce'], expected)


def test_predict_through_encoder_decoder():
    model = build_model(NARROW_PSPNET_R18).eval()
    data = _batch(model, 2, 57, 43, training=False)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    assert len(results) == 2
    for result in results:
        assert result.seg_logits.data.shape == (5, 57, 43)
        assert result.pred_sem_seg.data.shape == (1, 57, 43)
        torch.testing.assert_close(
            result.pred_sem_seg.data[0], result.seg_logits.data.argmax(0))
