// The player: one <audio> element playing the queue's current song through /rest/stream,
// a second one preloading the next song, the Media Session (media keys, lock screen) and the
// play queue saved on the server (savePlayQueue) so a phone app resumes where this stopped.
import { api, COVER_PLACEHOLDER, coverUrl, formatTime, streamUrl } from "./api.js";
import { canPlay } from "./dom.js";
import { Normalizer } from "./loudness.js";

const SAVE_EVERY_MS = 5000;
const REPEATS = ["off", "all", "one"];

export class Player {
  constructor(queue, els) {
    this.queue = queue;
    this.els = els;
    this.audio = els.audio;
    this.preloader = new Audio();
    this.preloader.preload = "auto";
    this.preloader.muted = true;
    this.repeat = "off";
    this.lastSave = 0;
    this.saveTimer = null;
    this.restoring = false;
    this.touched = false; // the queue was changed in this page (then a late restore keeps out)
    this.normalizer = new Normalizer(this.audio, els.normalize);
    this.bind();
  }

  // Raw when this browser can play the file's format, else a transcode it can play.
  formatFor(song) {
    const a = this.audio;
    if (song.contentType && a.canPlayType(song.contentType)) return "raw";
    if (a.canPlayType('audio/ogg; codecs="opus"')) return "opus";
    return "mp3";
  }

  urlFor(song) {
    return streamUrl(song.id, this.formatFor(song));
  }

  bind() {
    const { audio, els } = this;
    audio.addEventListener("timeupdate", () => this.showTime());
    audio.addEventListener("durationchange", () => this.showTime());
    audio.addEventListener("play", () => this.showState());
    audio.addEventListener("pause", () => {
      this.showState();
      this.save(true);
    });
    audio.addEventListener("ended", () => this.ended());
    audio.addEventListener("error", () => {
      if (!audio.getAttribute("src")) return;
      this.status("This song could not be played (the file or its transcode failed).");
    });
    els.play.addEventListener("click", () => this.toggle());
    els.next.addEventListener("click", () => this.next());
    els.prev.addEventListener("click", () => this.prev());
    els.repeat.addEventListener("click", () => this.cycleRepeat());
    els.seek.addEventListener("input", () => {
      const d = this.duration();
      if (d) this.seek((Number(els.seek.value) / 1000) * d);
    });
    els.volume.addEventListener("input", () => this.setVolume(Number(els.volume.value) / 100));
    const saved = Number(localStorage.getItem("longplay.volume") ?? "1");
    this.setVolume(Number.isFinite(saved) ? saved : 1);
    this.queue.onChange((reason) => this.queueChanged(reason));
    this.mediaSession();
  }

  duration() {
    const d = this.audio.duration;
    if (Number.isFinite(d) && d > 0) return d;
    return this.queue.current?.duration ?? 0;
  }

  status(text) {
    this.els.status.textContent = text;
  }

  queueChanged(reason) {
    if (this.restoring) return;
    this.touched = true;
    if (reason === "replace" || reason === "go" || reason === "current-removed") {
      this.load(true);
    } else if (reason === "clear") {
      this.audio.pause();
      this.audio.removeAttribute("src");
      this.audio.load();
      this.showSong();
    } else if (!this.audio.getAttribute("src") && this.queue.current) {
      this.load(false);
    }
    if (!["replace", "go", "current-removed"].includes(reason)) this.preloadNext(); // else load()
    this.save(true);
  }

  load(autoplay, position = 0) {
    const song = this.queue.current;
    this.showSong();
    if (!song) return;
    if (!canPlay(song)) {
      this.audio.pause();
      this.audio.removeAttribute("src");
      this.status(`Cannot play “${song.title}”: the archive holds no file for it and no peer has it right now.`);
      this.preloadNext();
      return;
    }
    this.status("");
    this.normalizer.apply(song);
    this.audio.src = this.urlFor(song);
    if (position) this.audio.currentTime = position;
    if (autoplay) {
      this.play();
      // The next song's bytes would share the server and the connection with this one's
      // first bytes: preload it once this one plays (or fails).
      const after = () => {
        this.audio.removeEventListener("playing", after);
        this.audio.removeEventListener("error", after);
        this.preloadNext();
      };
      this.audio.addEventListener("playing", after);
      this.audio.addEventListener("error", after);
    } else this.preloadNext();
  }

  play() {
    this.normalizer.resume();
    this.audio.play().catch((err) => {
      // A browser may refuse to start audio before the page got a click: not an error.
      if (err.name !== "NotAllowedError" && err.name !== "AbortError") {
        this.status(`Playback failed: ${err.message}`);
      }
    });
  }

  toggle() {
    if (!this.audio.getAttribute("src")) {
      if (this.queue.current) this.load(true);
      return;
    }
    if (this.audio.paused) this.play();
    else this.audio.pause();
  }

  next() {
    const q = this.queue;
    if (q.index + 1 < q.songs.length) q.go(q.index + 1);
    else if (this.repeat === "all" && q.songs.length) q.go(0);
  }

  prev() {
    // As on every player: back to the start first, the previous song on a second press.
    if (this.audio.currentTime > 3 || this.queue.index <= 0) this.seek(0);
    else this.queue.go(this.queue.index - 1);
  }

  seek(t) {
    const d = this.duration();
    this.audio.currentTime = Math.max(0, d ? Math.min(t, d - 0.1) : t);
    this.showTime();
  }

  setVolume(v) {
    const vol = Math.min(1, Math.max(0, v));
    this.audio.volume = vol;
    this.els.volume.value = String(Math.round(vol * 100));
    localStorage.setItem("longplay.volume", String(vol));
  }

  cycleRepeat() {
    this.repeat = REPEATS[(REPEATS.indexOf(this.repeat) + 1) % REPEATS.length];
    this.els.repeat.dataset.mode = this.repeat;
    this.els.repeat.setAttribute("aria-label", `Repeat: ${this.repeat}`);
    this.els.repeat.setAttribute("aria-pressed", String(this.repeat !== "off"));
  }

  ended() {
    const song = this.queue.current;
    if (song) api("scrobble", { id: song.id, submission: true }).catch(() => {});
    if (this.repeat === "one") {
      this.seek(0);
      this.play();
    } else {
      this.next();
    }
  }

  preloadNext() {
    const next = this.queue.next;
    const url = next && canPlay(next) ? this.urlFor(next) : "";
    if (url && this.preloader.dataset.url !== url) {
      this.preloader.dataset.url = url;
      this.preloader.src = url;
      this.preloader.load();
    }
  }

  showSong() {
    const song = this.queue.current;
    const { els } = this;
    els.title.textContent = song ? song.title : "Nothing playing";
    els.artist.textContent = song ? [song.artist, song.album].filter(Boolean).join(" · ") : "";
    if (song?.coverArt) {
      els.cover.onerror = () => {
        els.cover.onerror = null;
        els.cover.src = COVER_PLACEHOLDER;
      };
      els.cover.src = coverUrl(song.coverArt, 120);
      els.cover.hidden = false;
    } else {
      els.cover.hidden = true;
      els.cover.removeAttribute("src");
    }
    document.title = song ? `${song.title} · Longplay` : "Longplay";
    if ("mediaSession" in navigator) {
      navigator.mediaSession.metadata = song
        ? new MediaMetadata({
            title: song.title,
            artist: song.artist ?? "",
            album: song.album ?? "",
            artwork: song.coverArt
              ? [{ src: coverUrl(song.coverArt, 512), sizes: "512x512", type: "image/jpeg" }]
              : [],
          })
        : null;
    }
    this.showTime();
  }

  showState() {
    const playing = !this.audio.paused;
    this.els.play.setAttribute("aria-label", playing ? "Pause" : "Play");
    this.els.play.dataset.state = playing ? "playing" : "paused";
    if ("mediaSession" in navigator) {
      navigator.mediaSession.playbackState = playing ? "playing" : "paused";
    }
  }

  showTime() {
    const t = this.audio.currentTime || 0;
    const d = this.duration();
    const { els } = this;
    els.time.textContent = formatTime(t);
    els.total.textContent = formatTime(d);
    if (document.activeElement !== els.seek) {
      els.seek.value = d ? String(Math.round((t / d) * 1000)) : "0";
    }
    els.seek.setAttribute("aria-valuetext", `${formatTime(t)} of ${formatTime(d)}`);
    if ("mediaSession" in navigator && d && navigator.mediaSession.setPositionState) {
      try {
        navigator.mediaSession.setPositionState({ duration: d, position: Math.min(t, d) });
      } catch {
        // Some browsers refuse a position state while metadata loads; the next update lands.
      }
    }
    if (!this.audio.paused) this.save(false);
  }

  mediaSession() {
    if (!("mediaSession" in navigator)) return;
    const ms = navigator.mediaSession;
    const handlers = {
      play: () => this.play(),
      pause: () => this.audio.pause(),
      nexttrack: () => this.next(),
      previoustrack: () => this.prev(),
      seekto: (d) => this.seek(d.seekTime),
      seekforward: (d) => this.seek(this.audio.currentTime + (d.seekOffset || 10)),
      seekbackward: (d) => this.seek(this.audio.currentTime - (d.seekOffset || 10)),
    };
    for (const [action, fn] of Object.entries(handlers)) {
      try {
        ms.setActionHandler(action, fn);
      } catch {
        // An action this browser does not know: the others still work.
      }
    }
  }

  // Throttled: at most one save every few seconds while playing, at once on queue changes.
  save(now) {
    if (this.restoring) return;
    const due = this.lastSave + SAVE_EVERY_MS - Date.now();
    clearTimeout(this.saveTimer);
    if (now || due <= 0) {
      this.lastSave = Date.now();
      this.saveNow();
    } else {
      this.saveTimer = setTimeout(() => this.save(true), due);
    }
  }

  saveNow() {
    const q = this.queue;
    const params = {
      id: q.songs.map((s) => s.id),
      current: q.current?.id,
      position: Math.round((this.audio.currentTime || 0) * 1000),
    };
    return api("savePlayQueue", params, { post: true }).catch((err) =>
      this.status(`The queue was not saved: ${err.message}`),
    );
  }

  // The queue the user left, here or in another app; loaded paused at its position.
  async restore() {
    const body = await api("getPlayQueue");
    const pq = body.playQueue;
    // A queue made here while the saved one was on its way (a shuffle, an album played) wins.
    if (!pq?.entry?.length || this.touched) return;
    const index = Math.max(0, pq.entry.findIndex((s) => s.id === pq.current));
    this.restoring = true;
    this.queue.replace(pq.entry, index);
    this.restoring = false;
    this.load(false, (pq.position || 0) / 1000);
  }
}
