"""psp_plugin.deploy."""
