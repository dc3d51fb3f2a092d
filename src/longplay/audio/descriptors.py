"""Tempo, key and classic descriptors with Essentia: the optional extra ``longplay[analysis]``.

Essentia is AGPL-3.0 and Longplay Apache-2.0, so it is opt-in (docs/analysis.md). Without it,
or with the setting ``analysis_essentia = false``, :func:`describe` returns nothing and those fields stay
absent: never guessed. Each descriptor keeps Essentia's name and unit; nothing here is a 0-1
"mood" score that would need a trained model.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import numpy as np

RATE = 44100  # the rate Essentia's rhythm and key algorithms are tuned for
# RhythmExtractor2013's "degara" beat tracker: 55x realtime per core against 30x for
# "multifeature" in the prototype pipeline, with the same tempo on the test songs. (Degara
# computes no confidence: RhythmExtractor2013 returns 0 for it, so none is stored.)
TEMPO_METHOD = "degara"
FIELDS = (
    "bpm",
    "key",
    "mode",
    "key_strength",
    "danceability",
    "dynamic_complexity",
    "onset_rate",
)


@cache
def _essentia() -> Any:
    # The setting's environment form reaches worker processes too (they inherit it).
    if os.environ.get("LONGPLAY_ANALYSIS_ESSENTIA", "").lower() in ("0", "off", "no", "false"):
        return None
    try:
        import essentia

        essentia.log.infoActive = False  # it prints an INFO line per algorithm otherwise
        essentia.log.warningActive = False
        import essentia.standard as es
    except ImportError:
        return None
    return es


def available() -> bool:
    return _essentia() is not None


def version() -> str | None:
    if not available():
        return None
    import essentia

    return f"essentia {essentia.__version__}"


@cache
def _algorithms() -> dict[str, Any]:
    es = _essentia()
    return {
        "rhythm": es.RhythmExtractor2013(method=TEMPO_METHOD),
        "key": es.KeyExtractor(sampleRate=RATE),
        "dance": es.Danceability(sampleRate=RATE),
        "dynamic": es.DynamicComplexity(sampleRate=RATE),
        "onsets": es.OnsetRate(),
    }


def describe(mono: np.ndarray) -> dict[str, Any]:
    """Essentia's descriptors of float32 mono samples at :data:`RATE` ({} without Essentia)."""
    if not available() or mono.size < RATE:
        return {}
    signal = np.ascontiguousarray(mono, dtype=np.float32)
    algo = _algorithms()
    for a in algo.values():
        a.reset()  # OnsetRate keeps the last file's state and returns nothing on the next
    bpm, _ticks, _confidence, _estimates, _intervals = algo["rhythm"](signal)
    key, scale, strength = algo["key"](signal)
    danceability, _dfa = algo["dance"](signal)
    complexity, _loudness = algo["dynamic"](signal)
    _onsets, onset_rate = algo["onsets"](signal)
    return {
        "bpm": round(float(bpm), 2),
        "key": str(key),
        "mode": str(scale),
        "key_strength": round(float(strength), 3),
        "danceability": round(float(danceability), 4),
        "dynamic_complexity": round(float(complexity), 4),
        "onset_rate": round(float(onset_rate), 3),
    }
