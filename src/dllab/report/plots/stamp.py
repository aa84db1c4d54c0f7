"""A mark on a figure that does not show its lesson: a band under the image saying why (quick
settings, too little training), so that a student who finds the PNG on its own is warned too.

Marking is idempotent: a marked PNG carries a text chunk, a marked GIF a comment, and a figure
already marked is left as it is however often the report is rendered again.
"""

import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageSequence, PngImagePlugin

from dllab.atomic import write_atomic

MARK_KEY = "dllab-mark"  # the PNG text chunk / GIF comment that says a figure is marked
BAND = (255, 243, 205)  # pale amber, as the page's warning boxes
INK = (122, 80, 0)


def is_marked(path: str | os.PathLike) -> bool:
    with Image.open(path) as image:
        return MARK_KEY in getattr(image, "text", {}) or (
            image.info.get("comment", b"").startswith(MARK_KEY.encode())
        )


def mark(path: str | os.PathLike, text: str) -> bool:
    """Add a band with `text` under the PNG or GIF at `path` (every frame of a GIF).

    Returns:
        False when the figure was marked already (nothing changes), else True.
    """
    path = Path(path)
    if is_marked(path):
        return False
    with Image.open(path) as image:
        if path.suffix.lower() == ".gif":
            frames = [_with_band(f.convert("RGB"), text) for f in ImageSequence.Iterator(image)]
            duration, loop = image.info.get("duration", 200), image.info.get("loop", 0)
            comment = f"{MARK_KEY}: {text}".encode()

            def save(tmp):
                frames[0].save(
                    tmp, format="GIF", save_all=True, append_images=frames[1:],
                    duration=duration, loop=loop, comment=comment,
                )  # fmt: skip
        else:
            marked = _with_band(image.convert("RGB"), text)
            info = PngImagePlugin.PngInfo()
            info.add_text(MARK_KEY, text)

            def save(tmp):
                marked.save(tmp, format="PNG", pnginfo=info)

    write_atomic(path, save)
    return True


def _with_band(image: Image.Image, text: str) -> Image.Image:
    """The image with a band below it holding `text`, wrapped to the image's width."""
    size = max(9, min(15, image.width // 45))
    font = ImageFont.load_default(size=size)
    words, lines = text.split(), [""]
    for word in words:
        trial = f"{lines[-1]} {word}".strip()
        if lines[-1] and font.getlength(trial) > image.width - 12:
            lines.append(word)
        else:
            lines[-1] = trial
    height = len(lines) * (size + 4) + 8
    out = Image.new("RGB", (image.width, image.height + height), BAND)
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw.text((6, image.height + 4 + i * (size + 4)), line, fill=INK, font=font)
    return out
