"""``python -m psp_plugin.demo`` is a short alias of ``python -m psp_plugin.tools.demo``."""
from .tools.demo import main

if __name__ == '__main__':
    main()
