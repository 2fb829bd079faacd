"""Render: sounds land at exact sample offsets, block size never changes the result."""

from __future__ import annotations

import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceroutine.clips import Clip
from voiceroutine.render import ms_to_frames, render, total_frames
from voiceroutine.script import Chime, Hold, Pause, Script, Speech

RATE = 1000  # one frame a millisecond keeps the arithmetic readable


def clip(*values: int) -> Clip:
    return Clip(array.array("h", values).tobytes(), RATE)


def samples(blocks) -> list[int]:
    return array.array("h", b"".join(blocks)).tolist()


SCRIPT = Script(
    "t",
    "T",
    (
        Speech(2, 5, "hi"),
        Pause(5, 8),
        Chime(8, 10, "start"),
        Hold(8, 12, "s"),
        Chime(12, 14, "end"),
        Speech(15, 18, "bye"),
    ),
    (),
    20,
)
CLIPS = {"hi": clip(1, 2, 3), "bye": clip(7, 8, 9)}
CHIMES = {"start": clip(100, 101), "end": clip(200, 201)}


def test_each_sound_sits_at_its_absolute_offset():
    expected = [0, 0, 1, 2, 3, 0, 0, 0, 100, 101, 0, 0, 200, 201, 0, 7, 8, 9, 0, 0]
    assert samples(render(SCRIPT, CLIPS, CHIMES, RATE)) == expected


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_block_size_does_not_change_the_audio(block):
    assert samples(render(SCRIPT, CLIPS, CHIMES, RATE, block_frames=block)) == samples(render(SCRIPT, CLIPS, CHIMES, RATE))


def test_overlapping_sounds_are_summed_and_clipped():
    script = Script("t", "T", (Chime(0, 2, "start"), Speech(1, 3, "loud")), (), 4)
    out = samples(render(script, {"loud": clip(32000, 32000)}, {"start": clip(100, 1000)}, RATE))
    assert out == [100, 32767, 32000, 0]


def test_length_is_the_script_duration_in_frames():
    silent = Script("t", "T", (Pause(0, 20),), (), 20)
    assert total_frames(silent, 44_100) == 882
    assert len(b"".join(render(silent, {}, {}, 44_100, block_frames=100))) == 882 * 2


def test_clips_at_another_rate_are_refused():
    with pytest.raises(ValueError, match="22050 Hz"):
        list(render(SCRIPT, {"hi": Clip(b"\0\0", 22050), "bye": CLIPS["bye"]}, CHIMES, RATE))


@pytest.mark.parametrize("ms, rate, frames", [(0, 44100, 0), (1, 44100, 44), (1000, 44100, 44100), (61210, 44100, 2699361), (5, 22050, 110)])
def test_ms_to_frames_rounds_half_up_exactly(ms, rate, frames):
    assert ms_to_frames(ms, rate) == frames


def _mixed(sounds: list[tuple[int, list[int]]], length: int) -> list[int]:
    """The reference: each sound added in turn, clipping after each addition as audioop does."""
    out = [0] * length
    for start, values in sounds:
        for i, value in enumerate(values):
            if start + i < length:
                out[start + i] = max(-32768, min(32767, out[start + i] + value))
    return out


sound_lists = st.lists(
    st.tuples(st.integers(0, 60), st.lists(st.integers(-32768, 32767), min_size=1, max_size=25)), max_size=6
)


@given(sounds=sound_lists, block=st.integers(1, 40), start=st.integers(0, 80), span=st.integers(0, 80))
def test_any_sounds_in_any_blocks_and_ranges_render_as_their_sum(sounds, block, start, span):
    length = 80
    sounds = sorted(sounds, key=lambda s: s[0])  # a script's order, which is the order sounds are added in
    events = tuple(Speech(at, at + len(values), f"s{n}") for n, (at, values) in enumerate(sounds))
    script = Script("t", "T", events, (), length)
    clips = {f"s{n}": clip(*values) for n, (_, values) in enumerate(sounds)}
    end = min(length, start + span)
    got = samples(render(script, clips, {}, RATE, block_frames=block, start_frame=min(start, end), end_frame=end))
    assert got == _mixed(sounds, length)[min(start, end) : end]
