"""NudeNet: an offline nudity detector, the ONNX model (``320n.onnx``) shipped inside its wheel.

Optional extra (``nudenet``, AGPL-3.0; pulls in onnxruntime and opencv-python-headless): imported only
when the classifier is built, never by the rest of Trustdesk. Nothing is downloaded at run time.

Images are decoded by Trustdesk's own bounded decoder (`decode_image`), not by OpenCV, and handed to the
detector as the BGR array ``cv2.imread`` would give it. Each exposed class that counts as nudity (female
breast, genitalia, buttocks, anus) becomes a label with the highest score among its detections (0.0 when
absent), and ``nudity`` is the highest of those.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Any

import numpy as np

from trustdesk.safety.classifiers import ClassifierUnavailable, Score
from trustdesk.safety.media import MAX_IMAGE_PIXELS, MAX_MEDIA_BYTES, decode_image

NUDITY = "nudity"
EXPOSED_LABELS = {
    "FEMALE_BREAST_EXPOSED": "female_breast_exposed",
    "FEMALE_GENITALIA_EXPOSED": "female_genitalia_exposed",
    "MALE_GENITALIA_EXPOSED": "male_genitalia_exposed",
    "BUTTOCKS_EXPOSED": "buttocks_exposed",
    "ANUS_EXPOSED": "anus_exposed",
}
"""The exposed classes that count as nudity, and our labels for them. NudeNet's other classes (faces,
covered parts, exposed feet, belly, armpits, male chest) are no policy signal and are not reported: a
caller may route any label it gets to review. `NudeNetClassifier.detect` still returns them all."""
LABELS = (NUDITY, *EXPOSED_LABELS.values())
"""Every label `NudeNetClassifier.classify` returns, always all of them, in this order."""
MODEL = "320n"


@dataclass(frozen=True, slots=True)
class Detection:
    """One raw NudeNet detection (any of its 18 classes, faces and covered parts included)."""

    label: str
    score: float
    box: tuple[int, int, int, int]
    """x, y, width, height in pixels of the image."""


class NudeNetClassifier:
    name = "nudenet"

    def __init__(self, *, max_pixels: int = MAX_IMAGE_PIXELS, max_bytes: int = MAX_MEDIA_BYTES) -> None:
        try:
            from nudenet import NudeDetector  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as exc:
            raise ClassifierUnavailable(
                "the 'nudenet' extra is not installed (pip install nudenet; AGPL-3.0)"
            ) from exc
        try:
            self._detector: Any = NudeDetector()  # loads the model shipped in the wheel
        except Exception as exc:  # onnxruntime reports a missing or broken model as its own errors
            raise ClassifierUnavailable(f"NudeNet's model cannot be loaded: {exc}") from exc
        self.version = f"nudenet-{importlib.metadata.version('nudenet')}/{MODEL}"
        self._max_pixels = max_pixels
        self._max_bytes = max_bytes

    def detect(self, image_bytes: bytes) -> list[Detection]:
        """NudeNet's raw detections (scores ≥ 0.2 after its non-maximum suppression)."""
        image = decode_image(image_bytes, max_pixels=self._max_pixels, max_bytes=self._max_bytes)
        bgr = np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[:, :, ::-1])
        raw: list[dict[str, Any]] = self._detector.detect(bgr)
        return [
            Detection(
                label=str(item["class"]),
                score=min(1.0, max(0.0, float(item["score"]))),
                box=(int(item["box"][0]), int(item["box"][1]), int(item["box"][2]), int(item["box"][3])),
            )
            for item in raw
        ]

    def classify(self, image_bytes: bytes) -> list[Score]:
        best = dict.fromkeys(EXPOSED_LABELS, 0.0)
        for detection in self.detect(image_bytes):
            if detection.label in best:
                best[detection.label] = max(best[detection.label], detection.score)
        nudity = max(best.values())
        return [Score(NUDITY, nudity), *(Score(EXPOSED_LABELS[name], best[name]) for name in EXPOSED_LABELS)]
