"""Version of the psp_plugin package."""

__version__ = '0.1.0'
