"""Cover art for the lock screen: a calm square image with the routine's title, or the user's picture."""

from __future__ import annotations

import functools
import io
import textwrap
from pathlib import Path

from .language import DEFAULT_LANGUAGE, load_language

SIZE = 1400  # Apple asks for at least 1400 px square
TOP, BOTTOM = (22, 34, 64), (84, 62, 110)  # night blue to dusk violet


# Fonts with every accented letter (é, ß, ç, ñ...), by file name: Pillow finds them in the system's
# font folders. Debian and Ubuntu have DejaVu with ffmpeg (./scripts/setup makes sure of it);
# Pillow's own font draws only ASCII, so it is the last resort.
FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf")


def cover_subtitle(stretches: int, duration_ms: int, language: str = DEFAULT_LANGUAGE) -> str:
    """What the generated cover says under the title, in the routine's language."""
    return load_language(language).cover_subtitle(stretches, duration_ms)


@functools.cache  # each miss walks the system's font folders
def _font(size: int):
    from PIL import ImageFont

    for name in FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def make_cover(title: str, subtitle: str) -> bytes:
    """A PNG cover: a soft gradient, a pale moon, and the title."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (SIZE, SIZE))
    draw = ImageDraw.Draw(image)
    for y in range(SIZE):
        t = y / (SIZE - 1)
        draw.line([(0, y), (SIZE, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM)))
    draw.ellipse((880, 170, 1180, 470), fill=(236, 226, 196))
    draw.ellipse((800, 130, 1100, 430), fill=TOP)  # cuts the moon to a crescent
    title_font = _font(96)
    lines = textwrap.wrap(title, width=20)[:5]
    y = 700 - len(lines) * 62
    for line in lines:
        draw.text((SIZE // 2, y), line, font=title_font, fill=(250, 246, 236), anchor="ma")
        y += 124
    draw.text((SIZE // 2, y + 40), subtitle, font=_font(50), fill=(205, 198, 226), anchor="ma")
    out = io.BytesIO()
    image.save(out, format="PNG")  # optimize=True takes twice as long for a file 4% smaller
    return out.getvalue()


def check_cover_file(value: object) -> str:
    """An image the user named for the cover: it must exist and be a picture Pillow can read."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected the path of an image file")
    path = Path(value).expanduser()
    try:
        found = path.is_file()
    except OSError:  # a name no file can have, e.g. too long
        found = False
    if not found:
        raise ValueError(f"{value}: file not found")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            picture.verify()
    except (OSError, UnidentifiedImageError):
        raise ValueError(f"{value}: not an image (PNG or JPEG)") from None
    return str(path)


def load_cover(path: str) -> bytes:
    """The user's image as a square PNG (centre-cropped, at least 1400 px)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(Path(path).expanduser()) as picture:
            picture = picture.convert("RGB")
    except (OSError, UnidentifiedImageError) as e:
        raise ValueError(f"{path}: cannot read it as an image ({e})") from None
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    square = picture.crop((left, top, left + side, top + side))
    if side < SIZE:
        square = square.resize((SIZE, SIZE), Image.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="PNG")
    return out.getvalue()
