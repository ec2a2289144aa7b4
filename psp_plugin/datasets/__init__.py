"""psp_plugin.datasets."""
from .toy_scenes import ToySceneDataset, make_toy_scenes  # noqa: F401
from .context_scenes import ContextScenesDataset, generate_context_scenes  # noqa: F401
from .mni152 import MNI152TissueDataset, check_mni152_root  # noqa: F401
from .mni152_prepare import prepare_mni152  # noqa: F401
