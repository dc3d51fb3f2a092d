// The play queue: an ordered list of songs and the index of the current one. Listeners are
// told of every change, so the queue panel redraws and the server copy is saved.
export class Queue {
  constructor() {
    this.songs = [];
    this.index = -1;
    this.listeners = [];
  }

  onChange(fn) {
    this.listeners.push(fn);
  }

  changed(reason) {
    for (const fn of this.listeners) fn(reason);
  }

  get current() {
    return this.songs[this.index] ?? null;
  }

  get next() {
    return this.songs[this.index + 1] ?? null;
  }

  replace(songs, index = 0) {
    this.songs = [...songs];
    this.index = songs.length ? Math.min(Math.max(index, 0), songs.length - 1) : -1;
    this.changed("replace");
  }

  add(songs) {
    this.songs.push(...songs);
    if (this.index < 0 && this.songs.length) this.index = 0;
    this.changed("add");
  }

  playNext(songs) {
    this.songs.splice(this.index + 1, 0, ...songs);
    if (this.index < 0 && this.songs.length) this.index = 0;
    this.changed("add");
  }

  move(from, to) {
    if (to < 0 || to >= this.songs.length || from === to) return;
    const [song] = this.songs.splice(from, 1);
    this.songs.splice(to, 0, song);
    // The current song keeps playing wherever it moves.
    if (this.index === from) this.index = to;
    else if (from < this.index && to >= this.index) this.index -= 1;
    else if (from > this.index && to <= this.index) this.index += 1;
    this.changed("move");
  }

  remove(i) {
    if (i < 0 || i >= this.songs.length) return;
    this.songs.splice(i, 1);
    const wasCurrent = i === this.index;
    if (i < this.index) this.index -= 1;
    if (this.index >= this.songs.length) this.index = this.songs.length - 1;
    this.changed(wasCurrent ? "current-removed" : "remove");
  }

  clear() {
    this.songs = [];
    this.index = -1;
    this.changed("clear");
  }

  go(i) {
    if (i < 0 || i >= this.songs.length) return false;
    this.index = i;
    this.changed("go");
    return true;
  }
}
