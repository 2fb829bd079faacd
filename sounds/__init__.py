"""Chime sounds, shipped inside the package as ``voiceroutine._sounds``.

The WAV files here are made by ``scripts/make_sounds.py``.
"""
