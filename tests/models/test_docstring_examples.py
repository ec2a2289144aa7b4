"""The ``Example:`` sections of the model docstrings run and print what
they claim."""
import doctest

import pytest

from psp_plugin.models import aux_fcn_head, dilated_resnet, ppm_head, resnet_blocks, single_value_norm


@pytest.mark.parametrize('module', [
    aux_fcn_head, dilated_resnet, ppm_head, resnet_blocks, single_value_norm
])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
