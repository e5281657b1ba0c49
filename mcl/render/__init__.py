"""Rendering: image-loss frames (fixed camera, white background), mp4/gif videos, filmstrips and a plotly player.

Example: `from mcl.render import render_frames, training_frames, show, save_video, filmstrip`.
"""
from .camera import TRAINING_CAMERA, Camera
from .filmstrip import filmstrip
from .frames import render_frames, training_frames
from .plotly_player import show
from .video import save_video

__all__ = ["TRAINING_CAMERA", "Camera", "filmstrip", "render_frames", "training_frames", "show", "save_video"]
