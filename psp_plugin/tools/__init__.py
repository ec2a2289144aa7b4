"""psp_plugin.tools."""
