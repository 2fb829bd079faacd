"""Integrated loudness (ITU-R BS.1770-4, as EBU R128 uses it) of a routine, measured in-process.

A routine is silence with sounds placed in it, and silence adds nothing to a
K-weighted signal's energy. So each distinct sound is K-weighted once (its
filter tail included), and the energy of every 100 ms step of the timeline is
the sum of what the sounds placed there contribute; the 400 ms gating blocks
(75% overlap, from the first sample) are four such steps. Then the standard's
gates: blocks under -70 LUFS are dropped, then those more than 10 LU under the
mean of the rest, and the mean of what is left is the loudness.

The K-weighting (a high shelf and a high pass, designed for any sample rate
from the standard's analogue prototypes) is applied by FFT convolution with
the filter's impulse response, cut where what is left of it is below a
billionth of its energy: numpy does it in C, where a recursive filter would
need scipy, whose import alone takes longer than measuring a routine.
Mono is measured as heard on headphones: both ears, +3 dB (ffmpeg's
``ebur128=dualmono=true``). Sounds never overlap in a routine, so their
energies add; where filter tails meet, the difference is far below 0.01 LU.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence

STEP_MS = 100
STEPS_PER_BLOCK = 4  # 400 ms blocks, a step apart
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
DUAL_MONO_DB = 10 * math.log10(2)
TAIL_ENERGY = 1e-9
FFT_BLOCK = 1 << 16


def _biquads(rate: int) -> list[tuple[tuple[float, float, float], tuple[float, float, float]]]:
    """The two K-weighting stages at ``rate``: (b, a) of the high shelf, then of the high pass."""
    shelf_hz, shelf_gain_db, shelf_q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * shelf_hz / rate)
    vh = 10 ** (shelf_gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / shelf_q + k * k
    shelf = (
        ((vh + vb * k / shelf_q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / shelf_q + k * k) / a0),
        (1.0, 2 * (k * k - 1) / a0, (1 - k / shelf_q + k * k) / a0),
    )
    pass_hz, pass_q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * pass_hz / rate)
    a0 = 1 + k / pass_q + k * k
    high_pass = ((1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / pass_q + k * k) / a0))
    return [shelf, high_pass]


@functools.cache
def impulse_response(rate: int):
    """The K-weighting filter's impulse response at ``rate``, as long as it carries energy."""
    import numpy as np

    length = rate // 2  # half a second: the high pass rings longest, and is far below TAIL_ENERGY by then
    signal = [0.0] * length
    signal[0] = 1.0
    for (b0, b1, b2), (_, a1, a2) in _biquads(rate):
        x1 = x2 = y1 = y2 = 0.0
        out = [0.0] * length
        for n, x in enumerate(signal):
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            out[n], x2, x1, y2, y1 = y, x1, x, y1, y
        signal = out
    response = np.array(signal)
    energy = np.cumsum(response[::-1] ** 2)[::-1]  # energy from each sample to the end
    keep = int(np.argmax(energy < TAIL_ENERGY * energy[0]))
    return response[: keep or length]


def _weighted_energy(samples: bytes, rate: int):
    """The K-weighted sound's squared samples, its filter tail included.

    Convolved a block at a time (overlap-add), so a long intro needs no FFT of its whole length.
    """
    import numpy as np

    x = np.frombuffer(samples, dtype="<i2")
    response = impulse_response(rate)
    fft_size = max(FFT_BLOCK, 1 << (2 * len(response) - 1).bit_length())
    hop = fft_size - len(response) + 1
    kernel = np.fft.rfft(response, fft_size)
    y = np.zeros(len(x) + len(response) - 1, dtype=np.float32)  # ample for a loudness; half the memory
    for start in range(0, len(x), hop):
        block = x[start : start + hop].astype(np.float64) / 32768
        out = np.fft.irfft(np.fft.rfft(block, fft_size) * kernel, fft_size)[: len(block) + len(response) - 1]
        y[start : start + len(out)] += out
    return np.square(y, out=y)


def step_energies(sounds: Iterable[tuple[bytes, Sequence[int]]], total_frames: int, rate: int):
    """The K-weighted energy in each 100 ms step of a timeline of ``total_frames`` holding each
    sound (16-bit mono PCM) at each of its frame offsets, silence elsewhere.

    Each sound is weighed once and let go before the next, so memory stays that of one sound.
    Energies of sounds add, so steps measured apart can be summed (and scaled by a gain squared).
    """
    import numpy as np

    step = rate * STEP_MS // 1000
    steps = np.zeros(total_frames // step + 1)
    for samples, offsets in sounds:
        energy = _weighted_energy(samples, rate)
        for offset in offsets:
            first = offset // step
            # Cut the sound where the timeline's steps begin: each piece's energy falls in one step.
            cuts = np.arange((first + 1) * step - offset, len(energy), step)
            pieces = np.add.reduceat(energy, np.concatenate(([0], cuts)))
            fits = min(len(pieces), len(steps) - first)  # a filter tail past the end is not heard
            steps[first : first + fits] += pieces[:fits]
    return steps


def _block_loudness(steps, total_frames: int, rate: int):
    """The loudness of every 400 ms gating block (75% overlap), and each block's mean power."""
    import numpy as np

    step = rate * STEP_MS // 1000
    blocks_total = max(0, (total_frames - STEPS_PER_BLOCK * step) // step + 1)
    power = np.convolve(steps, np.ones(STEPS_PER_BLOCK), mode="valid")[:blocks_total] / (STEPS_PER_BLOCK * step)
    return _lufs(power), power


def _lufs(power):
    import numpy as np

    return -0.691 + DUAL_MONO_DB + 10 * np.log10(np.maximum(power, 1e-30))


def gated_lufs(steps, total_frames: int, rate: int) -> float | None:
    """Integrated loudness from step energies: the standard's absolute and relative gates,
    then the mean power of the blocks left; None when nothing reaches the absolute gate."""
    import numpy as np

    loudness, power = _block_loudness(steps, total_frames, rate)
    audible = power[loudness > ABSOLUTE_GATE_LUFS]
    if not len(audible):
        return None
    relative_gate = float(_lufs(np.mean(audible))) + RELATIVE_GATE_LU
    return float(_lufs(np.mean(power[loudness > relative_gate])))


def loudest_block_lufs(steps, total_frames: int, rate: int) -> float | None:
    """The loudness of the loudest 400 ms block (momentary loudness at its highest); None for silence."""
    loudness, _ = _block_loudness(steps, total_frames, rate)
    return float(loudness.max()) if len(loudness) else None


def integrated_lufs(sounds: Iterable[tuple[bytes, Sequence[int]]], total_frames: int, rate: int) -> float | None:
    """Integrated loudness of a timeline of ``total_frames`` holding each sound at each of its frame offsets."""
    return gated_lufs(step_energies(sounds, total_frames, rate), total_frames, rate)
