"""What the README's examples advertise is said: no cue of theirs is silently left out."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceroutine import Overrides, apply_overrides, build, load_routine, resolve_settings
from voiceroutine.cli import cli

from conftest import decode, onset_ms, read_manifest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
# Options that change what is written, not the timeline (music is laid under it): left out of the plan.
BUILD_ONLY = {"-o", "--output", "--format", "--bitrate", "--loudness", "--ambient", "--cover", "-j", "--jobs", "--music", "--music-level"}


def using_it_builds() -> list[list[str]]:
    """Each `voiceroutine build` line of the README's "Using it" examples, as arguments."""
    section = README.split("## Using it", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)[1]
    commands = [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.startswith("voiceroutine build")]
    return [words[2:] for words in commands]


def as_plan(args: list[str]) -> list[str]:
    kept, skip = [], False
    for word in args:
        if skip:
            skip = False
        elif word in BUILD_ONLY:
            skip = True
        elif not word.startswith(("--split", "--no-sidecars", "--sidecars", "-q", "--quiet")):
            kept.append(word)
    return ["plan", "--json", *kept]


def test_the_readme_shows_build_examples():
    examples = using_it_builds()
    assert len(examples) >= 10
    assert ["--hold", "20s"] in examples and ["--time-left", "20s,10s"] in examples


@pytest.mark.parametrize("args", using_it_builds(), ids=" ".join)
def test_every_readme_build_example_plans_with_no_cue_left_out(args):
    result = CliRunner().invoke(cli, as_plan(args))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["dropped_cues"] == []


@pytest.mark.integration
@pytest.mark.parametrize(
    "hold_ms, time_left_ms, said",
    [
        (20_000, (10_000,), ["Halfway.", "Ten seconds left."]),  # both fall ten seconds in
        (30_000, (20_000, 10_000), ["Twenty seconds left.", "Halfway.", "Ten seconds left."]),  # --time-left 20s,10s
    ],
    ids=["--hold 20s", "--time-left 20s,10s"],
)
def test_the_readme_cues_are_heard_inside_every_hold(tmp_path, engine, hold_ms, time_left_ms, said):
    routine = load_routine("bed-back")
    routine = apply_overrides(routine, Overrides(hold_ms=hold_ms, only=("hamstring", "butterfly")))
    out = tmp_path / "cues.mp3"
    result = build(routine, resolve_settings({"time_left_ms": time_left_ms}), out, engine=engine)
    samples, manifest = decode(out), read_manifest(out)
    assert manifest["dropped_cues"] == [] and result.script.dropped == ()
    holds = [e for e in manifest["events"] if e["kind"] == "hold"]
    assert len(holds) == 3
    for hold in holds:
        cues = [e for e in manifest["events"] if e.get("cue") and hold["start_ms"] < e["start_ms"] and e["end_ms"] < hold["end_ms"]]
        assert [c["text"] for c in cues] == said, hold
        for cue in cues:
            heard = onset_ms(samples, cue["start_ms"], window_ms=40)
            assert heard is not None and abs(heard - cue["start_ms"]) <= 30, cue
        halfway = next(c for c in cues if c["text"] == "Halfway.")
        middle = (hold["start_ms"] + hold["end_ms"]) // 2
        assert middle - 2_000 <= halfway["start_ms"] <= middle
