"""The lexicon: every term of the near text fields, sorted, for typo and prefix expansion.

Tantivy expands a fuzzy term by running a Levenshtein automaton over the term dictionary of
each field in each segment, and a prefix by walking it; at 10M tracks a one-edit pass over
title, artists and album measured 88 ms CPU p50 (merged index, load ~20). The lexicon does it
once per query in Python instead: one sorted array of the terms of ``NEAR_FIELDS`` (UTF-8, as
the analyzer folds them) with their document frequency, written at index time. A typo'd word
becomes its one-edit spellings (Damerau: deletions, transpositions, substitutions, insertions)
looked up in the array in one vectorized search, and the pass asks Tantivy for those exact
terms: 16 ms CPU p50 for the same queries, the same recall (95 of 100). Substitutions and
insertions use a-z and 0-9 plus the word's own characters, since the analyzer folds Latin
letters to ASCII. Terms over ``MAX_BYTES`` are left out (no typo or completion reaches them;
a query word that long falls back to Tantivy's automaton).

Two edits (words of 8+ letters, a pass that runs only when one edit found nothing) are asked of
``spell``, a one-segment Tantivy index of the same terms: one Levenshtein automaton over one
term dictionary, where asking the index itself built one per field (three) for the whole index
and again for the popular tier, and walked each segment's dictionary: a query matching nothing
with one 8+ letter word measured 45 ms at 10M tracks (load 3), most of it building the
automata (~12 ms each). The answer is kept per word, so the words already typed cost nothing
on the next keystroke.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import tantivy

FILE = "lexicon"  # a directory beside index/: terms.npy, freq.npy, spell/
SPELL = "spell"  # the terms as a Tantivy index, for two-edit spellings (module docstring)
NEAR_FIELDS = ("title", "artists", "album")
MAX_BYTES = 48
_ASCII = "abcdefghijklmnopqrstuvwxyz0123456789"


def write(partial: Path, searcher: tantivy.Searcher) -> int:
    """Write the lexicon of the index ``searcher`` reads into ``partial/lexicon``; its size."""
    freq: dict[str, int] = {}
    for name in NEAR_FIELDS:
        for term, n in _all_terms(searcher, name):
            if len(term.encode()) <= MAX_BYTES:
                freq[term] = freq.get(term, 0) + n
    words = sorted(freq, key=lambda t: t.encode())
    tmp = partial / (FILE + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    np.save(tmp / "terms.npy", np.array([w.encode() for w in words], dtype=f"S{MAX_BYTES}"))
    np.save(tmp / "freq.npy", np.array([freq[w] for w in words], dtype=np.uint32))
    _write_spell(tmp / SPELL, words, freq)
    os.replace(tmp, partial / FILE)
    return len(words)


def _spell_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("term", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_unsigned_field("freq", fast=True)
    return sb.build()


def _write_spell(path: Path, words: list[str], freq: dict[str, int]) -> None:
    """The terms as one Tantivy segment (one writer thread, one commit): 2 s for 329k terms."""
    path.mkdir()
    writer = tantivy.Index(_spell_schema(), path=str(path)).writer(200_000_000, 1)
    for w in words:
        writer.add_json(json.dumps({"term": w, "freq": freq[w]}))
    writer.commit()
    writer.wait_merging_threads()


def _all_terms(searcher: tantivy.Searcher, name: str) -> list[tuple[str, int]]:
    # The binding reserves room for ``limit`` terms up front, so ask for a bound and grow it.
    limit = 1 << 20
    while True:
        found = searcher.terms_with_prefix(name, "", limit=limit)
        if len(found) < limit:
            return found
        limit *= 4


class Lexicon:
    """The sorted terms of one index (memory-mapped), asked by the query builder."""

    def __init__(self, directory: Path):
        self.terms = np.load(directory / "terms.npy", mmap_mode="r")
        self.freq = np.load(directory / "freq.npy", mmap_mode="r")
        spell = directory / SPELL
        # (a lexicon written before ``spell``: two edits fall back to Tantivy's automaton)
        self.spell = tantivy.Index.open(str(spell)) if (spell / "meta.json").is_file() else None
        self._spelling = self.spell.searcher() if self.spell is not None else None

    @staticmethod
    def open(index_dir: Path) -> Lexicon | None:
        """The lexicon of the index in ``index_dir``, or None for an index built without one."""
        directory = index_dir / FILE
        return Lexicon(directory) if (directory / "freq.npy").is_file() else None

    def covers(self, term: str) -> bool:
        """Whether this lexicon can expand ``term`` (else ask Tantivy's automaton)."""
        return len(term.encode()) < MAX_BYTES

    def _present(self, candidates: list[str]) -> list[str]:
        # (keys of the array's own width: any other makes numpy convert the whole array)
        candidates = [c for c in candidates if len(c.encode()) <= MAX_BYTES]
        if not candidates or not len(self.terms):
            return []
        keys = np.array([c.encode() for c in candidates], dtype=f"S{MAX_BYTES}")
        at = np.minimum(np.searchsorted(self.terms, keys), len(self.terms) - 1)
        hit = self.terms[at] == keys
        return [c for c, h in zip(candidates, hit.tolist(), strict=True) if h]

    def frequency(self, term: str) -> int:
        """Documents holding ``term`` in a near field (summed over the fields), 0 when none."""
        key = term.encode()
        if len(key) > MAX_BYTES or not len(self.terms):
            return 0
        at = int(np.searchsorted(self.terms, np.array(key, dtype=f"S{MAX_BYTES}")))
        found = at < len(self.terms) and bytes(self.terms[at]) == key
        return int(self.freq[at]) if found else 0

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (one Lexicon per open index, kept open)
    def near(self, term: str) -> tuple[str, ...]:
        """The terms one edit from ``term`` (not ``term`` itself), most frequent first."""
        found = self._present(sorted(_one_edit(term) - {term}))
        return self._by_freq(found)

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def within_two(self, term: str, prefix: bool, limit: int) -> tuple[str, ...] | None:
        """The ``limit`` most frequent terms at most two edits from ``term`` (itself too; with
        ``prefix``, terms that start with such a spelling), or None without ``spell``."""
        if self.spell is None or self._spelling is None:
            return None
        q = tantivy.Query.fuzzy_term_query(self.spell.schema, "term", term, 2, True, prefix)
        found = self._spelling.search(q, limit, order_by_field="freq", order=tantivy.Order.Desc)
        return tuple(self._spelling.doc(a)["term"][0] for _, a in found.hits)

    def _by_freq(self, found: list[str]) -> tuple[str, ...]:
        if not found:
            return ()
        keys = np.array([f.encode() for f in found], dtype=f"S{MAX_BYTES}")
        n = self.freq[np.searchsorted(self.terms, keys)]
        return tuple(found[i] for i in np.argsort(-n.astype(np.int64), kind="stable"))

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def completions(self, prefix: str, limit: int) -> tuple[str, ...]:
        """The ``limit`` most frequent terms that start with ``prefix`` (not ``prefix`` itself)."""
        lo, hi = self._range(prefix)
        if hi <= lo:
            return ()
        freq = np.asarray(self.freq[lo:hi]).astype(np.int64)
        top = np.argsort(-freq, kind="stable")[: limit + 1]
        out = [bytes(self.terms[lo + i]).decode() for i in sorted(top, key=lambda i: -freq[i])]
        return tuple(t for t in out if t != prefix)[:limit]

    def starting(self, prefix: str, limit: int = 20_000) -> tuple[str, ...] | None:
        """Every term starting with ``prefix`` (itself too), or None when over ``limit`` (or
        when the prefix is longer than the lexicon's terms)."""
        if not self.covers(prefix):
            return None
        lo, hi = self._range(prefix)
        if hi - lo > limit:
            return None
        return tuple(bytes(t).decode() for t in self.terms[lo:hi])

    def _range(self, prefix: str) -> tuple[int, int]:
        key = prefix.encode()
        if len(key) >= MAX_BYTES:
            return 0, 0
        lo = int(np.searchsorted(self.terms, np.array(key, dtype=f"S{MAX_BYTES}")))
        hi = int(np.searchsorted(self.terms, np.array(key + b"\xff", dtype=f"S{MAX_BYTES}")))
        return lo, hi

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def near_completions(self, prefix: str, limit: int) -> tuple[str, ...]:
        """The most frequent terms starting with a spelling one edit from ``prefix`` (search
        as you type with a typo in the word being typed); ``limit`` of them in all."""
        variants = sorted(v for v in _one_edit(prefix) - {prefix} if len(v.encode()) < MAX_BYTES)
        if not variants or not len(self.terms):
            return ()
        keys = np.array([v.encode() for v in variants], dtype=f"S{MAX_BYTES}")
        los = np.searchsorted(self.terms, keys)
        ends = np.array([k + b"\xff" for k in keys.tolist()], dtype=f"S{MAX_BYTES}")
        his = np.searchsorted(self.terms, ends)
        best: dict[str, int] = {}
        for lo, hi in zip(los.tolist(), his.tolist(), strict=True):
            if hi <= lo:
                continue
            freq = np.asarray(self.freq[lo:hi]).astype(np.int64)
            for i in np.argsort(-freq, kind="stable")[:limit].tolist():
                best[bytes(self.terms[lo + i]).decode()] = int(freq[i])
        ranked = sorted(best, key=lambda t: (-best[t], t))
        return tuple(t for t in ranked if not t.startswith(prefix))[:limit]


def _one_edit(word: str) -> set[str]:
    """Every spelling one Damerau edit from ``word`` (a transposition of neighbours is one)."""
    letters = _ASCII + "".join(sorted({c for c in word if c not in _ASCII}))
    n = len(word)
    out = {word[:i] + word[i + 1 :] for i in range(n)}
    out.update(word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(n - 1))
    out.update(word[:i] + c + word[i + 1 :] for i in range(n) for c in letters)
    out.update(word[:i] + c + word[i:] for i in range(n + 1) for c in letters)
    return out
