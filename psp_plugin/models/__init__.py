"""psp_plugin.models: DilatedResNet, PPMHead and AuxFCNHead (registered in
``mmseg.registry.MODELS`` on import)."""
from .aux_fcn_head import AuxFCNHead
from .dilated_resnet import DilatedResNet
from .ppm_head import PPMHead

__all__ = ['AuxFCNHead', 'DilatedResNet', 'PPMHead']
