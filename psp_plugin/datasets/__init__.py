"""psp_plugin.datasets."""
