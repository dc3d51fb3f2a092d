// The player page: routes the main pane by the URL's hash, search as you type, the lists,
// the queue panel and the keyboard shortcuts. Playback itself lives in player.js.
import { api, carriers } from "./api.js";
import { canPlay, clear, h } from "./dom.js";
import { Player } from "./player.js";
import { Queue } from "./queue.js";
import { albumGrid, albumView, artistList, artistView, songTable } from "./views.js";

const $ = (id) => document.getElementById(id);
const COVERS_AFTER_MS = 300; // a view still shown this long gets its covers (not while typing)

const view = $("view");
const queue = new Queue();
const player = new Player(queue, {
  audio: $("audio"),
  play: $("play"),
  next: $("next"),
  prev: $("prev"),
  repeat: $("repeat"),
  seek: $("seek"),
  volume: $("volume"),
  normalize: $("normalize"),
  time: $("time"),
  total: $("total"),
  title: $("np-title"),
  artist: $("np-artist"),
  cover: $("np-cover"),
  status: $("status"),
});

const ctx = {
  playlists: [],
  folder: () => document.querySelector('input[name="folder"]:checked')?.value ?? "1",
  say: (text) => player.status(text),
  playSongs: (songs, i) => {
    const playable = songs.filter(canPlay);
    const start = Math.max(0, playable.indexOf(songs[i]));
    queue.replace(playable, start);
  },
  playNext: (songs) => queue.playNext(songs),
  addToQueue: (songs) => {
    queue.add(songs);
    ctx.say(`Added ${songs.length} to the queue`);
  },
  notHeldReason: () => "Not held by this archive",
  // Not-held songs: say which torrent carries each. Asked only once the view has stayed
  // (like covers): a lookup per keystroke would queue ahead of the next search on the server.
  markCarriers: (songs, root) => {
    const ids = songs.filter((s) => !canPlay(s)).map((s) => s.id);
    if (ids.length) whenSettled(() => showCarriers(ids, root));
  },
  loadPlaylists: async () => {
    const body = await api("getPlaylists");
    ctx.playlists = body.playlists?.playlist ?? [];
    return ctx.playlists;
  },
};

async function showCarriers(ids, root) {
  if (!root.isConnected) return; // built for a view that was replaced before it was shown
  const found = await carriers(ids).catch(() => ({}));
  for (const [id, torrent] of Object.entries(found)) {
    const row = root.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
    const badge = row?.querySelector(".badge");
    if (!badge) continue;
    const why = `Not held, and no peer has it right now: the torrent ${torrent} carries it`;
    badge.textContent = `In ${torrent}`;
    badge.title = why;
    row.querySelector(".play-song").title = why;
  }
}

// -- the main pane -----------------------------------------------------------------------------
let renderSeq = 0;
let settled = []; // work for the view being built, run once it has been shown COVERS_AFTER_MS
function whenSettled(fn) {
  settled.push(fn);
}
async function show(build) {
  const seq = ++renderSeq;
  settled = [];
  view.setAttribute("aria-busy", "true");
  try {
    const node = await build();
    if (seq !== renderSeq) return; // a newer view was asked for meanwhile
    const later = settled;
    view.replaceChildren(node);
    setTimeout(() => {
      if (seq !== renderSeq) return;
      for (const img of view.querySelectorAll("img[data-src]")) {
        img.src = img.dataset.src;
        img.removeAttribute("data-src");
      }
      later.forEach((fn) => fn());
    }, COVERS_AFTER_MS);
  } catch (err) {
    if (err.name === "AbortError" || seq !== renderSeq) return;
    clear(view).append(h("p", { class: "error", role: "alert" }, err.message));
  } finally {
    if (seq === renderSeq) view.setAttribute("aria-busy", "false");
  }
}

async function homeView() {
  const body = await api("getAlbumList2", { type: "newest", size: 60, musicFolderId: ctx.folder() });
  return h("section", {}, h("h1", {}, ctx.folder() === "2" ? "Catalog" : "Library"), albumGrid(body.albumList2?.album ?? []));
}

async function starredView() {
  const s = (await api("getStarred2")).starred2 ?? {};
  return h(
    "section",
    {},
    h("h1", {}, "Starred"),
    s.artist?.length ? [h("h2", {}, "Artists"), artistList(s.artist)] : null,
    s.album?.length ? [h("h2", {}, "Albums"), albumGrid(s.album)] : null,
    h("h2", {}, "Songs"),
    s.song?.length ? songTable(ctx, s.song) : h("p", {}, "Nothing starred yet: press ☆ beside a song."),
  );
}

async function playlistsView() {
  const lists = await ctx.loadPlaylists();
  const name = h("input", { id: "new-playlist", required: true, maxlength: 200, placeholder: "Name" });
  const form = h(
    "form",
    { class: "row", onsubmit: async (e) => {
      e.preventDefault();
      await api("createPlaylist", { name: name.value }, { post: true });
      route();
    } },
    h("label", { for: "new-playlist", class: "sr-only" }, "New playlist name"),
    name,
    h("button", { type: "submit" }, "Create playlist"),
  );
  return h(
    "section",
    {},
    h("h1", {}, "Playlists"),
    form,
    h("ul", { class: "lists" }, lists.map((p) => h("li", {}, h("a", { href: `#/playlist/${encodeURIComponent(p.id)}` }, p.name), ` · ${p.songCount} songs`))),
  );
}

async function playlistView(id) {
  const p = (await api("getPlaylist", { id })).playlist;
  const songs = p.entry ?? [];
  return h(
    "section",
    {},
    h("h1", {}, p.name),
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", class: "primary", disabled: !songs.length, onclick: () => ctx.playSongs(songs, 0) }, "Play"),
      h("button", { type: "button", onclick: async () => {
        await api("deletePlaylist", { id }, { post: true });
        location.hash = "#/playlists";
      } }, "Delete playlist"),
    ),
    songTable(ctx, songs),
  );
}

async function shuffleView() {
  const genres = (await api("getGenres")).genres?.genre ?? [];
  const field = (id, label, input) => h("div", { class: "field" }, h("label", { for: id }, label), input);
  const genre = h("select", { id: "shuffle-genre" }, h("option", { value: "" }, "Any genre"), genres.map((g) => h("option", { value: g.value }, g.value)));
  const from = h("input", { id: "shuffle-from", type: "number", min: 1000, max: 3000, inputmode: "numeric" });
  const to = h("input", { id: "shuffle-to", type: "number", min: 1000, max: 3000, inputmode: "numeric" });
  const pop = h("input", { id: "shuffle-pop", type: "number", min: 0, max: 100, inputmode: "numeric" });
  const folder = h("select", { id: "shuffle-folder" }, h("option", { value: "1" }, "Library (held)"), h("option", { value: "2" }, "Whole catalog"));
  folder.value = ctx.folder();
  const form = h(
    "form",
    { class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const body = await api("getRandomSongs", {
        size: 100, genre: genre.value || undefined, fromYear: from.value || undefined,
        toYear: to.value || undefined, minPopularity: pop.value || undefined, musicFolderId: folder.value,
      });
      const songs = (body.randomSongs?.song ?? []).filter(canPlay);
      if (!songs.length) return ctx.say("Nothing matches: widen the filters.");
      queue.replace(songs, 0);
      ctx.say(`Shuffled ${songs.length} songs`);
    } },
    field("shuffle-genre", "Genre", genre),
    field("shuffle-from", "From year", from),
    field("shuffle-to", "To year", to),
    field("shuffle-pop", "Min popularity (0–100)", pop),
    field("shuffle-folder", "From", folder),
    h("button", { type: "submit", class: "primary", id: "shuffle-go" }, "Shuffle and play"),
  );
  return h("section", {}, h("h1", {}, "True shuffle"), h("p", {}, "A uniform draw over every song that matches, not a shuffle of one page."), form);
}

// -- search as you type ------------------------------------------------------------------------
let searchAbort = null;
const searchBox = $("search");

async function searchView(q) {
  searchAbort?.abort(); // a stale answer must never overwrite a newer one
  searchAbort = new AbortController();
  const body = await api(
    "search3",
    { query: q, artistCount: 8, albumCount: 12, songCount: 25, musicFolderId: ctx.folder() },
    { signal: searchAbort.signal },
  );
  const r = body.searchResult3 ?? {};
  const empty = !r.artist?.length && !r.album?.length && !r.song?.length;
  return h(
    "section",
    { class: "results", dataset: { query: q } },
    h("h1", {}, `Results for “${q}”`),
    empty ? h("p", {}, "Nothing found.") : null,
    r.artist?.length ? [h("h2", {}, "Artists"), artistList(r.artist)] : null,
    r.album?.length ? [h("h2", {}, "Albums"), albumGrid(r.album)] : null,
    // Below the fold on most screens: laid out and painted only when scrolled to (style.css).
    r.song?.length ? h("div", { class: "offscreen" }, h("h2", {}, "Songs"), songTable(ctx, r.song, { compact: true })) : null,
  );
}

// Every key searches at once (no debounce): the previous request is aborted, and show()
// never paints a view older than the newest one asked for. The URL follows once the results
// have stayed: history.replaceState costs ~4 ms a call in Chromium, too much for each key.
let pendingHash = null;
function flushHash() {
  if (pendingHash === null) return;
  history.replaceState(null, "", pendingHash);
  pendingHash = null;
}
searchBox.addEventListener("input", () => {
  const q = searchBox.value.trim();
  pendingHash = q ? `#/search/${encodeURIComponent(q)}` : "#/";
  show(q ? () => searchView(q) : homeView);
  whenSettled(flushHash);
});
$("search-form").addEventListener("submit", (e) => e.preventDefault());
for (const r of document.querySelectorAll('input[name="folder"]')) {
  r.addEventListener("change", () => {
    flushHash(); // the view to redraw is the one typed, even if the URL has not caught up
    route();
  });
}

// -- routing -------------------------------------------------------------------------------------
function route() {
  const [, kind, arg] = (location.hash || "#/").match(/^#\/([^/]*)\/?(.*)$/) ?? [];
  const id = decodeURIComponent(arg ?? "");
  const views = {
    album: () => albumView(ctx, id),
    artist: () => artistView(ctx, id),
    search: () => searchView(id),
    starred: starredView,
    playlists: playlistsView,
    playlist: () => playlistView(id),
    shuffle: shuffleView,
  };
  show(views[kind] ?? homeView);
}
window.addEventListener("hashchange", () => {
  pendingHash = null; // the user went elsewhere: that URL wins over the typed one
  route();
});

for (const btn of document.querySelectorAll("[data-view]")) {
  btn.addEventListener("click", () => {
    const v = btn.dataset.view;
    if (v === "queue") return toggleQueue();
    location.hash = v === "home" ? "#/" : `#/${v}`;
  });
}

// -- the queue panel ---------------------------------------------------------------------------
const panel = $("queue-panel");
function toggleQueue(open = panel.hidden) {
  panel.hidden = !open;
  document.querySelector('[data-view="queue"]').setAttribute("aria-expanded", String(open));
}
$("queue-close").addEventListener("click", () => toggleQueue(false));
$("queue-clear").addEventListener("click", () => queue.clear());

function drawQueue() {
  $("queue-count").textContent = String(queue.songs.length);
  const list = clear($("queue-list"));
  queue.songs.forEach((s, i) => {
    const current = i === queue.index;
    list.append(
      h(
        "li",
        { class: current ? "current" : "", "aria-current": current ? "true" : null },
        h("button", { type: "button", class: "link", onclick: () => queue.go(i) }, s.title, h("span", { class: "sub" }, s.artist ?? "")),
        h("span", { class: "qacts" },
          h("button", { type: "button", "aria-label": `Move ${s.title} up`, disabled: i === 0, onclick: () => queue.move(i, i - 1) }, "↑"),
          h("button", { type: "button", "aria-label": `Move ${s.title} down`, disabled: i === queue.songs.length - 1, onclick: () => queue.move(i, i + 1) }, "↓"),
          h("button", { type: "button", "aria-label": `Remove ${s.title} from the queue`, onclick: () => queue.remove(i) }, "×"),
        ),
      ),
    );
  });
}
queue.onChange(drawQueue);

// -- keyboard ----------------------------------------------------------------------------------
document.addEventListener("keydown", (e) => {
  const t = e.target;
  const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
  if (e.key === "/" && !typing) {
    e.preventDefault();
    searchBox.focus();
    searchBox.select();
    return;
  }
  if (e.key === "Escape" && t === searchBox) return searchBox.blur();
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const a = player.audio;
  const keys = {
    " ": () => player.toggle(),
    ArrowRight: () => (e.shiftKey ? player.next() : player.seek(a.currentTime + 10)),
    ArrowLeft: () => (e.shiftKey ? player.prev() : player.seek(a.currentTime - 10)),
    ArrowUp: () => player.setVolume(a.volume + 0.05),
    ArrowDown: () => player.setVolume(a.volume - 0.05),
  };
  // Space on a focused button is that button's click; every other key is ours.
  if (e.key === " " && t instanceof HTMLButtonElement) return;
  if (keys[e.key]) {
    e.preventDefault();
    keys[e.key]();
  }
});

ctx.loadPlaylists().catch(() => {});
route();
player.restore().catch((err) => ctx.say(`The saved queue could not be loaded: ${err.message}`));
