"""voiceroutine: turn a stretching routine into one voice-guided audio file with exact hold times.

The library is a pipeline of plain data::

    routine = load_routine("bed-back")
    script = plan(routine, Settings())              # timeline only, no audio
    result = build(routine, Settings(), Path("out/bed-back.mp3"))
"""

from __future__ import annotations

__version__ = "0.1.0"

from .pipeline import BuildResult, build, plan
from .errors import EncoderError, RoutineError, SynthesisError, VoiceRoutineError
from .routine import Routine, Stretch, load_routine
from .script import Script, build_script
from .overrides import Overrides, apply_overrides
from .settings import Settings, resolve_settings

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
