"""psp_plugin.engine."""
