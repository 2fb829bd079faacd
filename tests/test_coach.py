"""The coach inside holds, with the real engine and ffmpeg: cues, lengths, chimes and fades as heard."""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import replace

import pytest

from voiceroutine import Overrides, Settings, apply_overrides, build, resolve_settings

from conftest import RATE, decode, onset_ms, peak, read_manifest

pytestmark = pytest.mark.integration


def zero_crossings(samples, start_ms: int, length_ms: int = 100) -> int:
    begin = start_ms * RATE // 1000
    piece = samples[begin : begin + length_ms * RATE // 1000]
    return sum(1 for a, b in zip(piece, piece[1:]) if (a < 0) != (b < 0))


@pytest.fixture(scope="module")
def full_guidance(tmp_path_factory, short_routine, engine):
    """The short routine with 20 s holds, tips, and every cue the coach can give."""
    routine = apply_overrides(short_routine, Overrides(hold_ms=20_000))
    routine = replace(routine, stretches=tuple(replace(s, tips=("Relax your jaw.",)) for s in routine.stretches))
    settings = resolve_settings({"guidance": "full", "breathe_every_ms": 5_000})
    out = tmp_path_factory.mktemp("coach") / "full.mp3"
    result = build(routine, settings, out, engine=engine)
    return result, decode(out), read_manifest(out)


def test_full_guidance_speaks_every_kind_of_cue_inside_the_holds(full_guidance):
    _, _, manifest = full_guidance
    holds = [e for e in manifest["events"] if e["kind"] == "hold"]
    cues = [e for e in manifest["events"] if e.get("cue")]
    assert {c["cue"] for c in cues} >= {"time-left", "countdown", "tip", "breathe"}
    for cue in cues:
        hold = next(h for h in holds if h["start_ms"] <= cue["start_ms"] < h["end_ms"])
        assert (cue["stretch"], cue["side"]) == (hold["stretch"], hold["side"])
        assert cue["end_ms"] <= hold["end_ms"] - 300  # ends before the end chime
    countdown = [c["text"] for c in cues if c["cue"] == "countdown"]
    assert countdown == ["Three.", "Two.", "One."] * len(holds)


def test_full_guidance_holds_measure_exact_in_the_decoded_audio(full_guidance):
    result, samples, manifest = full_guidance
    assert abs(len(samples) * 1000 / RATE - manifest["audio"]["duration_ms"]) <= 30
    chimes = {(e["start_ms"], e["sound"]) for e in manifest["events"] if e["kind"] == "chime"}
    for hold in (e for e in manifest["events"] if e["kind"] == "hold"):
        assert (hold["start_ms"], "start") in chimes and (hold["end_ms"], "end") in chimes
        start, end = onset_ms(samples, hold["start_ms"]), onset_ms(samples, hold["end_ms"], window_ms=20)
        assert abs((end - start) - 20_000) <= 5, hold


def test_every_cue_is_heard_where_the_manifest_says(full_guidance):
    _, samples, manifest = full_guidance
    for event in manifest["events"]:
        if event["kind"] in ("speech", "chime"):
            heard = onset_ms(samples, event["start_ms"], window_ms=40)
            assert heard is not None and abs(heard - event["start_ms"]) <= 30, event


def test_dropped_cues_are_listed_with_reasons(full_guidance):
    result, _, manifest = full_guidance
    assert manifest["dropped_cues"] == [d.to_dict() for d in result.script.dropped]
    assert any(d["text"] == "Breathe in... and out." and d["reason"] == "no room between the other cues" for d in manifest["dropped_cues"])
    assert "Halfway." not in {d["text"] for d in manifest["dropped_cues"]}  # it moves just before "Ten seconds left."


def test_length_is_hit_within_a_second(tmp_path, short_routine, engine):
    out = tmp_path / "fitted.mp3"
    result = build(short_routine, Settings(length_ms=150_000), out, engine=engine)
    manifest = read_manifest(out)
    assert abs(manifest["audio"]["duration_ms"] - 150_000) <= 1000
    assert abs(len(decode(out)) * 1000 / RATE - 150_000) <= 1000
    fitted = {s["id"]: s["hold_ms"] for s in manifest["routine"]["stretches"]}
    assert fitted == {s.id: s.hold_ms for s in result.routine.stretches}
    assert fitted["knee-hug"] > 3_000  # the holds grew to fill the time
    holds = {(h["stretch"], h["end_ms"] - h["start_ms"]) for h in manifest["events"] if h["kind"] == "hold"}
    assert holds == set(fitted.items())


def test_without_chimes_a_spoken_begin_and_release_mark_the_hold(tmp_path, short_routine, engine):
    out = tmp_path / "quiet.mp3"
    build(short_routine, Settings(chimes="none"), out, engine=engine)
    samples, manifest = decode(out), read_manifest(out)
    assert not [e for e in manifest["events"] if e["kind"] == "chime"]
    speech = {e["start_ms"]: e["text"] for e in manifest["events"] if e["kind"] == "speech"}
    for hold in (e for e in manifest["events"] if e["kind"] == "hold"):
        assert speech[hold["start_ms"]] == "Begin." and speech[hold["end_ms"]] == "Release."
        assert abs(onset_ms(samples, hold["start_ms"]) - hold["start_ms"]) <= 30
        assert abs(onset_ms(samples, hold["end_ms"]) - hold["end_ms"]) <= 30


def test_bright_chimes_differ_from_soft_ones(tmp_path, short_routine, engine):
    heard = {}
    for chimes in ("soft", "bright"):
        out = tmp_path / f"{chimes}.mp3"
        build(short_routine, Settings(chimes=chimes), out, engine=engine)
        samples, manifest = decode(out), read_manifest(out)
        start = next(e for e in manifest["events"] if e["kind"] == "chime" and e["sound"] == "start")
        heard[chimes] = zero_crossings(samples, start["start_ms"])
    assert heard["bright"] > heard["soft"] * 1.4  # A5 against C5


def test_a_custom_chime_is_used_and_timed(tmp_path, short_routine, engine):
    bell = tmp_path / "bell.wav"
    with wave.open(str(bell), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(22_050)
        w.writeframes(b"".join(struct.pack("<h", round(12000 * math.sin(2 * math.pi * 440 * i / 22_050))) for i in range(4410)))
    out = tmp_path / "custom.mp3"
    build(short_routine, Settings(start_chime=str(bell)), out, engine=engine)
    samples, manifest = decode(out), read_manifest(out)
    starts = [e for e in manifest["events"] if e["kind"] == "chime" and e["sound"] == "start"]
    assert {e["end_ms"] - e["start_ms"] for e in starts} == {200}
    for chime in starts:
        assert abs(onset_ms(samples, chime["start_ms"]) - chime["start_ms"]) <= 30
        assert zero_crossings(samples, chime["start_ms"]) in range(85, 92)  # 440 Hz for 100 ms


def test_fade_never_swallows_the_first_or_last_words(tmp_path, short_routine, engine):
    out = tmp_path / "faded.mp3"
    build(short_routine, Settings(fade_ms=3_000), out, engine=engine)
    samples, manifest = decode(out), read_manifest(out)
    speech = [e for e in manifest["events"] if e["kind"] == "speech"]
    assert speech[0]["start_ms"] >= 3_000
    assert manifest["audio"]["duration_ms"] - speech[-1]["end_ms"] >= 3_000
    assert peak(samples, speech[0]["start_ms"], speech[0]["end_ms"]) > 8_000
