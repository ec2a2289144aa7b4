"""A checkpoint must fit the config: mismatches stop with both files named."""
import pytest
import torch

from psp_plugin.inference import CheckpointMismatchError, Predictor, load_segmentor


def test_checkpoint_of_another_class_count_is_refused(tmp_path, squares_model_files):
    from psp_plugin.testing.tiny_pspnet import tiny_pspnet_config

    other = tmp_path / 'four_classes.py'
    tiny_pspnet_config(num_classes=4).dump(str(other))
    with pytest.raises(CheckpointMismatchError,
                       match=r'squares\.pth does not match config .*four_classes\.py: '
                             r'decode_head\.conv_seg\.weight has shape \(2, 16, 1, 1\)'):
        load_segmentor(other, squares_model_files[1])


def test_missing_auxiliary_head_is_fine_but_missing_backbone_is_not(tmp_path, squares_model_files):
    state = torch.load(squares_model_files[1], weights_only=True)['state_dict']
    without_aux = {k: v for k, v in state.items() if not k.startswith('auxiliary_head.')}
    torch.save({'state_dict': without_aux}, tmp_path / 'no_aux.pth')
    model = load_segmentor(squares_model_files[0], tmp_path / 'no_aux.pth')
    torch.testing.assert_close(model.decode_head.conv_seg.weight, state['decode_head.conv_seg.weight'])
    broken = {k: v for k, v in state.items() if not k.startswith('backbone.stem')}
    torch.save({'state_dict': broken}, tmp_path / 'broken.pth')
    with pytest.raises(CheckpointMismatchError, match=r'backbone\.stem\.\S+ is missing'):
        load_segmentor(squares_model_files[0], tmp_path / 'broken.pth')


def test_missing_checkpoint_file_is_named(tmp_path, squares_model_files):
    with pytest.raises(FileNotFoundError, match=r'nothing\.pth does not exist'):
        Predictor.from_files(squares_model_files[0], tmp_path / 'nothing.pth')
