"""ONNX export of a PSPNet segmentor: fixed-range pooling, the export itself and its verification."""
from .export import DEFAULT_OPSET, MIN_OPSET, SegmentorForExport, export_checkpoint, export_onnx
from .fixed_range_pooling import FixedRangeAvgPool2d, FixedRangeMaxPool2d, replace_adaptive_pooling
from .verify import compare_with_onnxruntime

__all__ = [
    'DEFAULT_OPSET', 'FixedRangeAvgPool2d', 'FixedRangeMaxPool2d', 'MIN_OPSET', 'SegmentorForExport',
    'compare_with_onnxruntime', 'export_checkpoint', 'export_onnx', 'replace_adaptive_pooling'
]
