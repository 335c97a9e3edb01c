"""Image classifiers: the protocol, the optional NudeNet extra, and running without it.

Tests that need NudeNet skip when it is not installed, and fail when ``TRUSTDESK_REQUIRE_CLASSIFIER=1``
(CI sets it). No explicit imagery is used or kept: only the PDQ conformance photographs and synthetic
images.
"""

import importlib.util
import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trustdesk.safety import classifiers
from trustdesk.safety.classifiers import Classifier, ClassifierUnavailable, Score, load_classifiers
from trustdesk.safety.media import MediaError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq"
IMAGES = DATA / "images"


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class Constant:
    """A test double: the protocol needs nothing more."""

    name = "constant"
    version = "1"

    def classify(self, image_bytes: bytes) -> list[Score]:
        return [Score("nudity", 0.0)] if image_bytes else []


# --- the protocol, without any extra --------------------------------------------------------------------


def test_the_protocol_is_small() -> None:
    double: Classifier = Constant()
    assert isinstance(double, Classifier)
    assert double.classify(b"x") == [Score("nudity", 0.0)]
    assert not isinstance(object(), Classifier)


@pytest.mark.parametrize("value", [-0.01, 1.01, float("nan"), float("inf")])
def test_scores_are_in_the_unit_interval(value: float) -> None:
    with pytest.raises(ValueError, match="not in"):
        Score("nudity", value)


def test_a_score_needs_a_label() -> None:
    with pytest.raises(ValueError, match="label"):
        Score("", 0.5)
    assert Score("nudity", 1.0).score == 1.0


def test_without_the_extra_no_classifier_loads_and_the_log_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "nudenet", None)  # import nudenet now raises ImportError
    monkeypatch.setattr(classifiers, "_reported", set())
    with caplog.at_level(logging.INFO, logger="trustdesk.safety.classifiers"):
        assert load_classifiers() == []
        assert load_classifiers() == []
    messages = [r.getMessage() for r in caplog.records if r.name == "trustdesk.safety.classifiers"]
    assert len(messages) == 1
    assert "nudenet" in messages[0]
    assert "pip install nudenet" in messages[0]


def test_building_nudenet_without_the_extra_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from trustdesk.safety.classifiers.nudenet_detector import NudeNetClassifier

    monkeypatch.setitem(sys.modules, "nudenet", None)
    with pytest.raises(ClassifierUnavailable, match=r"AGPL-3\.0"):
        NudeNetClassifier()


def test_unknown_classifiers_are_an_error() -> None:
    with pytest.raises(ValueError, match="unknown classifier"):
        load_classifiers(("clairvoyant",))


def test_trustdesk_never_imports_nudenet_by_itself() -> None:
    """The extra is imported lazily: loading Trustdesk's safety modules does not pull it in."""
    code = (
        "import sys, trustdesk.safety.classifiers, trustdesk.safety.classifiers.nudenet_detector, "
        "trustdesk.safety.hashing, trustdesk.safety.media; "
        "assert not {'nudenet', 'onnxruntime', 'cv2'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- NudeNet: needs the extra ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nudenet() -> Classifier:
    if importlib.util.find_spec("nudenet") is None:
        message = "the nudenet extra is not installed (pip install nudenet)"
        if os.environ.get("TRUSTDESK_REQUIRE_CLASSIFIER") == "1":
            pytest.fail(
                message + "; TRUSTDESK_REQUIRE_CLASSIFIER=1: classifier tests must run", pytrace=False
            )
        pytest.skip(message)
    loaded = load_classifiers()
    assert [c.name for c in loaded] == ["nudenet"]
    return loaded[0]


def conformance(relative: str) -> bytes:
    path = IMAGES / relative
    if not path.is_file():
        pytest.skip(f"PDQ conformance data not found at {DATA}")
    return path.read_bytes()


def test_nudenet_follows_the_protocol(nudenet: Classifier) -> None:
    from trustdesk.safety.classifiers.nudenet_detector import LABELS

    assert isinstance(nudenet, Classifier)
    assert nudenet.name == "nudenet"
    assert nudenet.version.startswith("nudenet-3.")
    assert nudenet.version.endswith("/320n")
    scores = nudenet.classify(conformance("bridge-mods/aaa-orig.jpg"))
    assert [s.label for s in scores] == list(LABELS)
    assert scores[0].label == "nudity"
    assert all(isinstance(s, Score) and 0.0 <= s.score <= 1.0 for s in scores)


@pytest.mark.parametrize(
    "relative", ["bridge-mods/aaa-orig.jpg", "dih/bridge-2-rotate-90.jpg", "labelme/q0291.jpg", "misc/c.png"]
)
def test_ordinary_photographs_score_low_on_nudity(nudenet: Classifier, relative: str) -> None:
    scores = {s.label: s.score for s in nudenet.classify(conformance(relative))}
    assert scores["nudity"] < 0.2  # measured: 0.0, nothing detected above NudeNet's 0.2 floor


def test_the_model_really_runs(nudenet: Classifier) -> None:
    """On a street photograph with people, NudeNet finds faces (not part of the nudity labels)."""
    from trustdesk.safety.classifiers.nudenet_detector import NudeNetClassifier

    assert isinstance(nudenet, NudeNetClassifier)
    detections = nudenet.detect(conformance("labelme/q0291.jpg"))
    assert any(d.label == "FACE_MALE" and d.score >= 0.5 for d in detections)  # measured: 0.62 and 0.56
    assert all(0.0 <= d.score <= 1.0 and len(d.box) == 4 for d in detections)
    assert nudenet.detect(conformance("bridge-mods/aaa-orig.jpg")) == []


def test_classification_is_deterministic(nudenet: Classifier) -> None:
    data = conformance("labelme/q0291.jpg")
    assert nudenet.classify(data) == nudenet.classify(data)


def test_a_skin_toned_surface_is_not_nudity(nudenet: Classifier) -> None:
    """A naive skin-pixel counter would flag this (every pixel is skin-coloured); the model must not."""
    rng = np.random.default_rng(3)
    skin = np.array([224, 172, 140], dtype=np.int16)
    pixels = np.clip(skin + rng.integers(-12, 12, (480, 640, 3)), 0, 255).astype(np.uint8)
    scores = {s.label: s.score for s in nudenet.classify(png(Image.fromarray(pixels, "RGB")))}
    assert scores["nudity"] < 0.2


def test_bad_input_is_a_media_error(nudenet: Classifier) -> None:
    for data in (b"", b"not an image", conformance("bridge-mods/aaa-orig.jpg")[:5000]):
        with pytest.raises(MediaError):
            nudenet.classify(data)
