"""Synthetic data generators (clearly labelled as synthetic in their files)."""

from hub.generate.campsites import SYNTHETIC_NOTE, GenerateResult, generate_campsites

__all__ = ["SYNTHETIC_NOTE", "GenerateResult", "generate_campsites"]
