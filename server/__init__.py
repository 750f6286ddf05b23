"""SignStream: sign IDs in, normalized keypoints and rendered frames out."""
__version__ = "0.1.0"
