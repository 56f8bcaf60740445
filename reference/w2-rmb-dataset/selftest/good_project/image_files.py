"""Keep a file only if PIL can read it as an image, whatever its name says."""
from PIL import Image, UnidentifiedImageError


def is_image(path):
    try:
        with Image.open(path) as image:
            image.verify()
        return True
    except (UnidentifiedImageError, OSError):
        return False
