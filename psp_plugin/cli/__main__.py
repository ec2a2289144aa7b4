"""``python -m psp_plugin.cli ...`` is the same as the ``psp-plugin`` console script."""
import sys

from .main import main

sys.exit(main())
