"""Video posters: a frame that is not a black intro frame, grabbed with ffmpeg (which applies the
rotation phones record in the display matrix).

Candidate times are tried in order (0 s, 1 s, 2 s, then 10 %, 25 %, 50 % of the duration); the first
frame that is neither almost black nor flat wins, otherwise the brightest one.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image, ImageStat

from photo_factory import tools
from photo_factory.worker import ItemError

log = logging.getLogger(__name__)

#: Mean luma below this (0–255) is a black frame; a standard deviation below FLAT is a blank one.
DARK = 24.0
FLAT = 6.0


def duration(path: Path) -> float:
    """The video's duration in seconds (PyAV reads the container header only)."""
    # imported at the first video: PyAV maps FFmpeg's libraries, +17 MB resident in every
    # thumbnail worker that never sees a video
    import av

    try:
        with av.open(tools.input_path(path)) as container:  # absolute: never a protocol or an option
            if not container.streams.video:
                raise ItemError("no_video_stream", "the file has no video stream")
            if container.duration:
                return container.duration / av.time_base
            stream = container.streams.video[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            return 0.0
    except av.error.FFmpegError as exc:
        raise ItemError("corrupt_file", f"cannot read the video: {exc}") from None


def candidate_times(length: float) -> list[float]:
    """Seek positions to try, in order, all inside the video."""
    times = [0.0, 1.0, 2.0, length * 0.10, length * 0.25, length * 0.50]
    out: list[float] = []
    for t in times:
        t = round(t, 3)
        if (t == 0.0 or t < length - 0.05) and t not in out:
            out.append(t)
    return out


def grab(path: Path, at: float, longest: int, ffmpeg: str = "ffmpeg",
         timeout: float = 120.0) -> Image.Image | None:
    """One frame at ``at`` seconds, scaled so its long edge is at most ``longest``; None past the end."""
    scale = (f"scale='if(gt(iw,ih),min({longest},iw),-2)':'if(gt(iw,ih),-2,min({longest},ih))'")
    # file:/absolute/path: whatever the name (a leading "-", "concat:", "|"), ffmpeg reads a file
    argv = [ffmpeg, "-nostdin", "-v", "error", "-ss", f"{at:.3f}", "-i", tools.input_path(path, protocol=True),
            "-frames:v", "1", "-vf", scale, "-f", "image2pipe", "-vcodec", "png", "-"]
    try:
        proc = tools.run(argv, timeout=timeout, what="ffmpeg")
    except tools.ToolError as exc:
        raise ItemError(exc.reason, exc.detail, retryable=True) from None
    if not proc.stdout:
        log.debug("no frame at %.2fs of %s: %s", at, path.name, proc.stderr.decode(errors="replace")[-300:])
        return None
    img = Image.open(io.BytesIO(proc.stdout))
    img.load()
    return img.convert("RGB")


def looks_black(img: Image.Image) -> bool:
    stat = ImageStat.Stat(img.convert("L").resize((64, 64)))
    return stat.mean[0] < DARK or stat.stddev[0] < FLAT


def poster(path: Path, longest: int, ffmpeg: str = "ffmpeg", timeout: float = 120.0) -> Image.Image:
    """The poster frame of a video at ``longest`` px (long edge), avoiding black intro frames."""
    best: tuple[float, Image.Image] | None = None
    for at in candidate_times(duration(path)):
        frame = grab(path, at, longest, ffmpeg, timeout)
        if frame is None:
            continue
        if not looks_black(frame):
            return frame
        brightness = ImageStat.Stat(frame.convert("L")).mean[0]
        if best is None or brightness > best[0]:
            best = (brightness, frame)
    if best is None:
        raise ItemError("undecodable_video", "ffmpeg could not decode any frame of the video")
    return best[1]
