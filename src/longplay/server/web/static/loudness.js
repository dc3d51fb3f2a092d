// Loudness normalization with the songs' ReplayGain (the server's `replayGain`): off, track or
// album gain. Applied through a Web Audio GainNode, not the audio element's volume: volume
// cannot go above 1, so a quiet song (a positive gain) could never be raised, and the user's
// volume slider stays the user's. The gain is capped at 1 / peak so a song is never pushed
// past full scale (the clipping guard). Until normalization is first turned on the element
// plays straight to the speakers, as before; once routed through Web Audio it stays so (an
// element cannot be unrouted) and "off" is a gain of 1.
const MODES = ["off", "track", "album"];
const KEY = "longplay.normalize";

export class Normalizer {
  constructor(audio, select) {
    this.audio = audio;
    this.select = select;
    this.context = null;
    this.node = null;
    this.song = null;
    const saved = localStorage.getItem(KEY);
    this.mode = MODES.includes(saved) ? saved : "off";
    select.value = this.mode;
    select.addEventListener("change", () => {
      this.mode = MODES.includes(select.value) ? select.value : "off";
      localStorage.setItem(KEY, this.mode);
      this.apply(this.song);
      this.resume(); // a change is a user gesture: the context may start now
    });
  }

  // The gain (dB as published, linear as applied) for a song in the current mode.
  gainFor(song) {
    const rg = song?.replayGain;
    if (this.mode === "off" || !rg) return { db: 0, linear: 1 };
    const album = this.mode === "album";
    const db = (album ? rg.albumGain : rg.trackGain) ?? rg.trackGain ?? rg.albumGain ?? rg.fallbackGain;
    const peak = (album ? rg.albumPeak : rg.trackPeak) ?? rg.trackPeak ?? rg.albumPeak;
    if (typeof db !== "number") return { db: 0, linear: 1 };
    let linear = 10 ** (db / 20);
    if (typeof peak === "number" && peak > 0) linear = Math.min(linear, 1 / peak);
    return { db, linear };
  }

  apply(song) {
    this.song = song;
    const { db, linear } = this.gainFor(song);
    if (linear !== 1 && !this.node) this.connect();
    if (this.node) this.node.gain.value = linear;
    // The page's state, for tests and the curious: what is applied now.
    this.audio.dataset.gainDb = String(db);
    this.audio.dataset.gain = String(this.node ? this.node.gain.value : 1);
  }

  connect() {
    const Context = window.AudioContext ?? window.webkitAudioContext;
    if (!Context) return; // no Web Audio: songs play as they are
    this.context = new Context();
    this.node = this.context.createGain();
    this.context.createMediaElementSource(this.audio).connect(this.node).connect(this.context.destination);
  }

  // Browsers start an AudioContext suspended unless a click made it; call on every play.
  resume() {
    if (this.context?.state === "suspended") this.context.resume().catch(() => {});
  }
}
