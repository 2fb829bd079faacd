"""voiceroutine: turn a stretching routine into one voice-guided audio file with exact hold times.

The library is a pipeline of plain data::

    routine = load_routine("bed-back")
    script = plan(routine, Settings())              # timeline only, no audio
    result = build(routine, Settings(), Path("out/bed-back.mp3"))
"""

from __future__ import annotations

__version__ = "0.1.0"

# Names are imported on first use, so `voiceroutine --help` and `plan` start quickly
# and load no audio or speech library.
_EXPORTS = {
    "BuildResult": "pipeline",
    "build": "pipeline",
    "plan": "pipeline",
    "EncoderError": "errors",
    "RoutineError": "errors",
    "SynthesisError": "errors",
    "VoiceRoutineError": "errors",
    "Routine": "routine",
    "Stretch": "routine",
    "load_routine": "routine",
    "Script": "script",
    "build_script": "script",
    "Overrides": "overrides",
    "apply_overrides": "overrides",
    "Settings": "settings",
    "resolve_settings": "settings",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'voiceroutine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "BuildResult",
    "EncoderError",
    "Overrides",
    "Routine",
    "RoutineError",
    "Script",
    "Settings",
    "Stretch",
    "SynthesisError",
    "VoiceRoutineError",
    "__version__",
    "apply_overrides",
    "build",
    "build_script",
    "load_routine",
    "plan",
    "resolve_settings",
]
