"""Data layer: the `Motion` record, source adapters, resampling and windowing. Imports nothing from the model."""
from .errors import DataError, SkipReport
from .motion import Motion, Segment, motion_to_tensor, tensor_to_motion
from .sources import DataSpec, SourceInfo, list_sources, load, parse_spec
from .synthetic import synthetic_dataset, synthetic_motion
from .windows import WINDOW_FPS, WINDOW_FRAMES, make_windows, random_window, windows

__all__ = ["DataError", "SkipReport", "Motion", "Segment", "motion_to_tensor", "tensor_to_motion",
           "synthetic_dataset", "synthetic_motion", "WINDOW_FPS", "WINDOW_FRAMES", "make_windows", "random_window",
           "windows", "DataSpec", "SourceInfo", "list_sources", "load", "parse_spec"]
