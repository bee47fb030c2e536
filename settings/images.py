"""The images: every image key's default (settings/catalog.py, by edition and Kafka mode)
or the `images` override.
"""

from __future__ import annotations

import re

from .catalog import DEFAULT_IMAGES, EDITIONS, KAFKA_MODES, default_images

_IMAGE = re.compile(r"^[a-z0-9][A-Za-z0-9._/:@-]*$")


def resolved_images(values: dict, errors: list[str]) -> dict[str, str]:
    """Every image key's image: the default of the edition and Kafka mode, or the override."""
    edition = values["edition"] if values["edition"] in EDITIONS else EDITIONS[0]
    kafka_mode = values["kafkaMode"] if values["kafkaMode"] in KAFKA_MODES else KAFKA_MODES[0]
    resolved = default_images(edition, kafka_mode)
    for key, image in sorted(values["images"].items()):
        if key not in DEFAULT_IMAGES:
            errors.append(f"images: {key!r} is not an image key; use any of {', '.join(DEFAULT_IMAGES)}")
        elif not isinstance(image, str) or not _IMAGE.match(image):
            errors.append(f"images.{key}: {image!r} is not an image reference such as repo/name:tag")
        else:
            resolved[key] = image
    return dict(sorted(resolved.items()))
