"""psp_plugin.models."""
