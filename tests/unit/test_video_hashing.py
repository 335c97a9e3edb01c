"""Video hashing (vPDQ) and video matching.

The matching rules are pure and always run. Hashing needs ffmpeg (to make the test videos from the
conformance photographs) and the ``vpdq`` extra: without them those tests skip, and fail when
``TRUSTDESK_REQUIRE_VIDEO=1``.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from trustdesk.safety.hashing import distance, hash_image
from trustdesk.safety.hashing.video import (
    FrameMatcher,
    VideoComparison,
    VideoFrame,
    VideoHashes,
    VideoHashingUnavailable,
    brute_force_matcher,
    compare_videos,
    frames_from_json,
    frames_to_json,
    hash_video,
    hash_video_file,
    match_video,
    usable_frames,
    video_hashing_available,
)
from trustdesk.safety.media import MediaError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq"
BRIDGE = DATA / "images" / "bridge-mods" / "aaa-orig.jpg"
UNRELATED = DATA / "images" / "labelme" / "q1050.jpg"
A, B, C = "a" * 64, "b" * 64, "c" * 64
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64


def frame(pdq: str, quality: int = 100, timestamp: float = 0.0) -> VideoFrame:
    return VideoFrame(pdq, quality, timestamp)


def matcher(bank: set[str]) -> tuple[list[list[str]], FrameMatcher]:
    calls: list[list[str]] = []

    def match_frames(hexes: list[str]) -> Sequence[bool]:
        calls.append(list(hexes))
        return [h in bank for h in hexes]

    return calls, match_frames


# --- matching: pure -------------------------------------------------------------------------------------


def test_a_video_matches_when_enough_of_its_usable_frames_match() -> None:
    frames = [frame(f"{i:064x}", timestamp=float(i)) for i in range(10)]
    bank = {f"{i:064x}" for i in range(8)}
    calls, match_frames = matcher(bank)
    result = match_video(frames, match_frames)
    assert result.matched
    assert result.query_match_percent == 80.0  # the threshold is inclusive, as in vPDQ
    assert (result.frames_considered, result.frames_matched) == (10, 8)
    assert result.matched_timestamps == tuple(float(i) for i in range(8))
    assert len(calls) == 1  # one batched call to the index

    bank.discard(f"{7:064x}")
    assert not match_video(frames, match_frames).matched
    assert match_video(frames, match_frames, query_match_percent=70.0).matched


def test_low_quality_and_repeated_frames_do_not_count() -> None:
    frames = [frame(A), frame(A, timestamp=1.0), frame(A, timestamp=2.0), frame(B, quality=49), frame(C, 50)]
    calls, match_frames = matcher({A})
    result = match_video(frames, match_frames)
    assert calls == [[A, C]]
    assert (result.frames_considered, result.frames_matched, result.query_match_percent) == (2, 1, 50.0)
    assert not result.matched
    assert [f.pdq for f in usable_frames(frames, quality_threshold=0)] == [A, B, C]


def test_a_video_without_usable_frames_never_matches() -> None:
    calls, match_frames = matcher({A})
    for frames in ([], [frame(A, quality=10)]):
        result = match_video(frames, match_frames)
        assert not result.matched
        assert result.frames_considered == 0
        assert result.query_match_percent == 0.0
    assert calls == []


def test_a_matcher_that_miscounts_is_an_error() -> None:
    with pytest.raises(ValueError, match="verdicts"):
        match_video([frame(A), frame(B)], lambda hexes: [True])
    with pytest.raises(ValueError, match="percentage"):
        match_video([frame(A)], lambda hexes: [True], query_match_percent=101)


def test_the_brute_force_matcher_matches_within_the_distance() -> None:
    near = "f" + "a" * 63  # 'a' -> 'f' is 2 bits
    match_frames = brute_force_matcher([A, B])
    assert list(match_frames([A, near, C, "0" * 64])) == [True, True, False, False]
    assert distance(near, A) == 2
    assert list(brute_force_matcher([A], max_distance=1)([near])) == [False]
    assert list(brute_force_matcher([])([A])) == [False]
    assert list(match_frames([])) == []


def test_comparing_two_videos_reports_both_percentages() -> None:
    query = [frame(A), frame(B)]
    compared = [frame(A), frame(C), frame("d" * 64), frame("e" * 64)]
    result = compare_videos(query, compared)
    assert result == VideoComparison(query_match_percent=50.0, compared_match_percent=25.0)
    assert not result.matched()
    assert result.matched(query_match_percent=50.0)
    assert not result.matched(query_match_percent=50.0, compared_match_percent=30.0)
    assert compare_videos([], compared) == VideoComparison(0.0, 0.0)


def test_frames_serialise_as_threatexchange_vpdq_signals() -> None:
    frames = (frame(A, 100, 0.0), frame(B, 72, 1.5))
    text = frames_to_json(frames)
    assert text == f'["{A},100,0.000", "{B},72,1.500"]'
    assert frames_from_json(text) == frames
    assert frames_from_json("") == ()
    assert VideoHashes("m", "s", frames).to_json() == text
    for bad in ['["abc,100,0"]', f'["{A},101,0"]', f'["{A},50,-1"]', f'["{A},50"]', '{"a": 1}']:
        with pytest.raises(ValueError, match="PDQ"):
            frames_from_json(bad)


def test_bytes_that_are_not_a_video_are_refused_before_vpdq() -> None:
    for data in (b"", b"plain text" * 50, b"\xff\xd8\xff\xe0" + b"\x00" * 100):
        with pytest.raises(MediaError, match="not a video"):
            hash_video(data)
    with pytest.raises(MediaError, match="exceeds the limit"):
        hash_video(MP4_HEAD, max_bytes=10)


def test_without_vpdq_video_hashing_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vpdq", None)  # import vpdq now raises ImportError
    with pytest.raises(VideoHashingUnavailable, match="pip install vpdq"):
        hash_video(MP4_HEAD)


# --- hashing: needs ffmpeg and vpdq ---------------------------------------------------------------------


def require_video(message: str) -> None:
    if os.environ.get("TRUSTDESK_REQUIRE_VIDEO") == "1":
        pytest.fail(message + " (TRUSTDESK_REQUIRE_VIDEO=1: video tests must run)", pytrace=False)
    pytest.skip(message)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def still(image: Path, seconds: int) -> list[str]:
    return ["-loop", "1", "-framerate", "10", "-t", str(seconds), "-i", str(image)]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not BRIDGE.is_file():
        pytest.skip(f"PDQ conformance data not found at {DATA}")
    if shutil.which("ffmpeg") is None:
        require_video("ffmpeg is not installed (apt-get install ffmpeg)")
    if not video_hashing_available():
        require_video("vpdq is not installed (pip install vpdq; needs FFmpeg's -dev libraries to build)")
    tmp = tmp_path_factory.mktemp("videos")
    zoom = "zoompan=z='1+0.005*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=640x400:fps=10"
    out = {name: tmp / name for name in ("still.mp4", "zoom.mp4", "copy.avi", "unrelated.mp4", "mixed.mp4")}
    h264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    ffmpeg(*still(BRIDGE, 4), "-vf", "scale=640:400", *h264, str(out["still.mp4"]))
    # a slow zoom into the bridge: every sampled frame differs from the others
    ffmpeg(
        "-loop",
        "1",
        "-framerate",
        "10",
        "-i",
        str(BRIDGE),
        "-t",
        "4",
        "-vf",
        zoom,
        *h264,
        str(out["zoom.mp4"]),
    )
    # the same video shrunk to a quarter of its pixels and re-encoded with another codec and container
    ffmpeg(
        "-i", str(out["zoom.mp4"]), "-vf", "scale=320:200", "-c:v", "mpeg4", "-q:v", "8", str(out["copy.avi"])
    )
    ffmpeg(*still(UNRELATED, 4), "-vf", "scale=256:256", *h264, str(out["unrelated.mp4"]))
    ffmpeg(
        *still(BRIDGE, 2),
        *still(UNRELATED, 2),
        "-filter_complex",
        "[0]scale=640:400,setsar=1[a];[1]scale=640:400,setsar=1[b];[a][b]concat=n=2:v=1",
        *h264,
        str(out["mixed.mp4"]),
    )
    return {name.split(".")[0]: path for name, path in out.items()}


def test_a_video_is_a_list_of_frame_hashes(videos: dict[str, Path]) -> None:
    hashes = hash_video_file(videos["zoom"])
    assert [f.timestamp for f in hashes.frames] == [0.0, 1.0, 2.0, 3.0]
    assert all(len(f.pdq) == 64 and f.quality == 100 for f in hashes.frames)
    assert len({f.pdq for f in hashes.frames}) == 4
    assert hash_video(videos["zoom"].read_bytes()) == hashes  # bytes and file alike, deterministic
    assert len(hash_video_file(videos["zoom"], seconds_per_hash=0.5).frames) == 8


def test_a_resized_reencoded_copy_matches_the_banked_video(videos: dict[str, Path]) -> None:
    bank = hash_video_file(videos["zoom"]).frames
    copy = hash_video_file(videos["copy"]).frames
    result = match_video(copy, brute_force_matcher(f.pdq for f in bank))
    assert result.matched
    assert result.query_match_percent == 100.0
    assert compare_videos(copy, bank) == VideoComparison(100.0, 100.0)
    # measured: the copy's frames are within 2 bits of the original's at the same timestamps
    assert max(distance(a.pdq, b.pdq) for a, b in zip(copy, bank, strict=True)) <= 16


def test_an_unrelated_video_does_not_match(videos: dict[str, Path]) -> None:
    bank = hash_video_file(videos["zoom"]).frames
    unrelated = hash_video_file(videos["unrelated"]).frames
    result = match_video(unrelated, brute_force_matcher(f.pdq for f in bank))
    assert not result.matched
    assert result.query_match_percent == 0.0
    assert compare_videos(unrelated, bank) == VideoComparison(0.0, 0.0)


def test_half_a_banked_video_is_not_enough(videos: dict[str, Path]) -> None:
    """Two seconds of the bridge then two of another photograph: 50 % of the usable frames match."""
    bridge_photo = hash_image(BRIDGE.read_bytes()).pdq
    mixed = hash_video_file(videos["mixed"]).frames
    result = match_video(mixed, brute_force_matcher([bridge_photo]))
    assert (result.frames_considered, result.frames_matched) == (2, 1)  # each still counted once
    assert not result.matched
    assert match_video(mixed, brute_force_matcher([bridge_photo]), query_match_percent=50.0).matched


def test_a_video_of_a_banked_photograph_matches_the_image_bank(videos: dict[str, Path]) -> None:
    bridge_photo = hash_image(BRIDGE.read_bytes()).pdq
    still_video = hash_video_file(videos["still"]).frames
    assert match_video(still_video, brute_force_matcher([bridge_photo])).matched
    # zooming in moves the later frames away from the photograph: only the first frame matches
    zoom = match_video(hash_video_file(videos["zoom"]).frames, brute_force_matcher([bridge_photo]))
    assert (zoom.frames_matched, zoom.matched) == (1, False)


def test_undecodable_videos_are_media_errors(videos: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="cannot be decoded"):
        hash_video(MP4_HEAD + b"\x00" * 1000)
    data = videos["zoom"].read_bytes()  # ffmpeg writes the index (moov) last: half a file cannot open
    with pytest.raises(MediaError, match="cannot be decoded"):
        hash_video(data[: len(data) // 2])
    text = tmp_path / "movie.mp4"
    text.write_text("a file name is not a format")
    with pytest.raises(MediaError, match="not a video"):
        hash_video_file(text)
