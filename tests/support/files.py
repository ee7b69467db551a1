"""Small genuine files for upload tests: evidence is checked from its own bytes, so a fake header is refused."""
import io

from PIL import Image


def image_bytes(kind: str = "JPEG", size: tuple[int, int] = (8, 6)) -> bytes:
    """A tiny picture, encoded as `kind` (JPEG, PNG, WEBP) by Pillow."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (46, 125, 50)).save(buffer, format=kind)
    return buffer.getvalue()


JPEG = image_bytes("JPEG")
PNG = image_bytes("PNG")
