"""psp_plugin.inference: predict on images, NIfTI volumes and rasters with blended sliding windows."""
from .blended_segmentor import BlendedEncoderDecoder
from .images import class_palette, overlay_labels, segment, segment_images, write_label_png
from .model_loading import CheckpointMismatchError, load_segmentor
from .network_input import ChannelMismatchError, InputMapping
from .predict import PredictionSummary, input_kind, list_inputs, predict
from .predictor import Predictor
from .sliding_window import WINDOW_WEIGHTS, WindowGrid, blend_logits, window_weight

__all__ = ['BlendedEncoderDecoder', 'ChannelMismatchError', 'CheckpointMismatchError', 'InputMapping',
           'PredictionSummary', 'Predictor', 'WINDOW_WEIGHTS', 'WindowGrid', 'blend_logits', 'class_palette',
           'input_kind', 'list_inputs', 'load_segmentor', 'overlay_labels', 'predict', 'segment',
           'segment_images', 'window_weight', 'write_label_png']
