"""The badge image of an achievement, and "baking": an OB3 credential embedded in that PNG
(an iTXt chunk with the keyword openbadgecredential, uncompressed, holding the vc+jwt), so a
backpack or a verifier can read the credential out of the picture. Pillow draws and reads it."""

import functools
import hashlib
import io

from django.utils.translation import gettext
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from credentials.models import Program

KEYWORD = "openbadgecredential"
SIZE = 400
# Uploads to the verification page: larger is not one of our badges.
MAX_BYTES = 2 * 1024 * 1024


class NotABadgeImage(ValueError):
    """The file is not a PNG with a credential baked in; the message says which."""


def _colour(code: str) -> tuple[int, int, int]:
    """A steady colour per issuer (dark enough for white text)."""
    digest = hashlib.sha256(code.encode()).digest()
    return (digest[0] % 120 + 20, digest[1] % 120 + 20, digest[2] % 120 + 40)


@functools.lru_cache(maxsize=64)
def _drawn(code: str, issuer_code: str, issuer_name: str) -> bytes:
    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    colour = _colour(issuer_code)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=colour + (255,), outline=(255, 255, 255, 255))
    draw.ellipse((28, 28, SIZE - 28, SIZE - 28), outline=(255, 255, 255, 255), width=4)
    size = 96 if len(code) <= 5 else max(40, 96 * 5 // len(code))
    title = ImageFont.load_default(size=size)
    small = ImageFont.load_default(size=28)
    draw.text((SIZE / 2, SIZE / 2 - 10), code, font=title, anchor="mm", fill="white")
    draw.text((SIZE / 2, SIZE / 2 + 80), issuer_name[:28], font=small, anchor="mm", fill="white")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def achievement_png(program: Program) -> bytes:
    """The plain badge image of a program (PNG, 400 x 400)."""
    return _drawn(program.code, program.issuer.code, program.issuer.name)


def baked_png(program: Program, token: str) -> bytes:
    """The program's badge image with the credential (a vc+jwt) baked in."""
    image = Image.open(io.BytesIO(achievement_png(program)))
    info = PngImagePlugin.PngInfo()
    info.add_itxt(KEYWORD, token, zip=False)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def unbake(data: bytes) -> str:
    """The credential baked in a PNG, read from the chunks before the image data (where we
    bake it) without decoding a pixel, so a crafted image costs no more than its bytes.
    Raises NotABadgeImage for a file that is too big, not a PNG, or has no credential there."""
    if len(data) > MAX_BYTES:
        raise NotABadgeImage(gettext("The image is larger than 2 MB: it is not one of our badges."))
    try:
        image = Image.open(io.BytesIO(data))
        if image.format != "PNG":
            raise NotABadgeImage(gettext("The file is not a PNG image."))
        token = image.info.get(KEYWORD)
    except NotABadgeImage:
        raise
    except Exception as bad:  # noqa: BLE001 - Pillow's readers raise many kinds on bad files
        raise NotABadgeImage(gettext("The file is not a PNG image that can be read.")) from bad
    if not token or not isinstance(token, str):
        raise NotABadgeImage(gettext("The image has no Open Badges credential baked in."))
    return str(token)
