// The views of the main pane: album grids, an album, an artist, search results, starred
// songs, playlists and the shuffle form. Each returns a DOM node; actions go through `ctx`.
import { api, COVER_PLACEHOLDER as PLACEHOLDER, coverUrl, formatTime } from "./api.js";
import { canPlay, h } from "./dom.js";


// The image is requested only when the view is shown for a moment (app.js sets data-src into
// src): typing a query must not queue dozens of cover requests ahead of the next search. Until
// then the tile is the stylesheet's background; no placeholder src either, as setting one costs
// ~0.4 ms an image in Chromium, per keystroke.
export function cover(id, size, alt) {
  return h("img", {
    class: "cover",
    "data-src": id ? coverUrl(id, size) : null,
    alt: alt ?? "",
    loading: "lazy",
    fetchpriority: "low",
    width: size,
    height: size,
    onerror: (e) => {
      e.target.src = PLACEHOLDER;
    },
  });
}

// Star or unstar `item`; `btn` shows the state (aria-pressed and the glyph).
async function toggleStar(ctx, item, btn, label) {
  const on = btn.getAttribute("aria-pressed") !== "true";
  await api(on ? "star" : "unstar", { id: item.id });
  item.starred = on ? new Date().toISOString() : undefined;
  btn.setAttribute("aria-pressed", String(on));
  btn.textContent = on ? "★" : "☆";
  ctx.say(on ? `Starred ${label}` : `Unstarred ${label}`);
}

function starButton(ctx, item, label) {
  const btn = h(
    "button",
    {
      type: "button",
      class: "star",
      "aria-pressed": String(Boolean(item.starred)),
      "aria-label": `Star ${label}`,
      title: "Star",
    },
    item.starred ? "★" : "☆",
  );
  btn.addEventListener("click", () => toggleStar(ctx, item, btn, label));
  return btn;
}

function ratingSelect(item, label) {
  const sel = h(
    "select",
    { class: "rating", "aria-label": `Rating of ${label}` },
    [0, 1, 2, 3, 4, 5].map((n) => h("option", { value: n }, n ? "★".repeat(n) : "–")),
  );
  sel.value = String(item.userRating ?? 0);
  sel.addEventListener("change", () => api("setRating", { id: item.id, rating: sel.value }));
  return sel;
}

function playlistSelect(ctx, song) {
  const sel = h(
    "select",
    { class: "to-playlist", "aria-label": `Add ${song.title} to a playlist` },
    h("option", { value: "" }, "+ Playlist"),
    ctx.playlists.map((p) => h("option", { value: p.id }, p.name)),
    h("option", { value: "new" }, "New playlist"),
  );
  sel.addEventListener("change", async () => {
    const v = sel.value;
    sel.value = "";
    if (v === "new") {
      await api("createPlaylist", { name: `${song.title} and more`, songId: song.id }, { post: true });
      await ctx.loadPlaylists();
      ctx.say(`New playlist with ${song.title}`);
    } else if (v) {
      await api("updatePlaylist", { playlistId: v, songIdToAdd: song.id }, { post: true });
      ctx.say(`Added ${song.title} to the playlist`);
    }
  });
  return sel;
}

// A row is a clone of the page's <template id="song-row"> filled with textContent and
// attributes: one deep clone instead of ~15 createElement calls, and a catalog string is never
// parsed as HTML. One delegated click listener per table serves every row's buttons.
const rowTemplate = () => document.getElementById("song-row").content.firstElementChild;

function songRow(ctx, s, i, showAlbum) {
  const held = canPlay(s);
  const swarm = held && s.held === false; // not held here: streamed from a peer
  const tr = rowTemplate().cloneNode(true);
  const [num, title, dur, acts] = tr.children;
  const [play, badge, sub] = title.children;
  const [artist, sep, album] = sub.children;
  tr.dataset.id = s.id;
  tr.dataset.i = i;
  num.textContent = s.track ?? i + 1;
  play.textContent = s.title;
  dur.textContent = formatTime(s.duration);
  if (held) {
    play.title = swarm ? "Play (streamed from a peer: not held here)" : "Play";
    if (swarm) {
      tr.classList.add("swarm");
      badge.classList.add("swarm");
      badge.title = "Not held here: a peer has it, so it streams from the swarm";
      badge.textContent = "From a peer";
    } else badge.remove();
  } else {
    const why = ctx.notHeldReason(s);
    tr.classList.add("missing");
    play.disabled = true;
    play.title = why;
    badge.title = why;
    badge.textContent = why;
  }
  if (s.artistId) {
    artist.href = `#/artist/${encodeURIComponent(s.artistId)}`;
    artist.textContent = s.artist ?? "";
  } else artist.replaceWith(s.artist ?? "");
  if (showAlbum && s.albumId) {
    album.href = `#/album/${encodeURIComponent(s.albumId)}`;
    album.textContent = s.album ?? "";
  } else {
    sep.remove();
    album.remove();
  }
  const [star, next, add] = acts.children;
  star.setAttribute("aria-pressed", String(Boolean(s.starred)));
  star.setAttribute("aria-label", `Star ${s.title}`);
  star.textContent = s.starred ? "★" : "☆";
  next.setAttribute("aria-label", `Play ${s.title} next`);
  add.setAttribute("aria-label", `Add ${s.title} to the queue`);
  next.disabled = add.disabled = !held;
  return tr;
}

// `compact` (search results, typed against): no rating or playlist menus, which cost about
// 2 ms a row to build; the album page has them.
export function songTable(ctx, songs, { showAlbum = true, compact = false } = {}) {
  const tbody = h("tbody");
  songs.forEach((s, i) => {
    const tr = songRow(ctx, s, i, showAlbum);
    if (!compact) tr.lastElementChild.append(ratingSelect(s, s.title), playlistSelect(ctx, s));
    tbody.append(tr);
  });
  tbody.addEventListener("click", (e) => {
    const btn = e.target.closest("button[data-act]");
    if (!btn || btn.disabled) return;
    const i = Number(btn.closest("tr").dataset.i);
    const s = songs[i];
    const act = btn.dataset.act;
    if (act === "play") ctx.playSongs(songs, i);
    else if (act === "star") toggleStar(ctx, s, btn, s.title);
    else if (act === "next") ctx.playNext([s]);
    else if (act === "add") ctx.addToQueue([s]);
  });
  const table = h(
    "table",
    { class: "songs" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "Title"), h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
    tbody,
  );
  ctx.markCarriers(songs, table);
  return table;
}

export function albumGrid(albums) {
  return h(
    "ul",
    { class: "grid" },
    albums.map((a) =>
      h(
        "li",
        {},
        h(
          "a",
          { href: `#/album/${encodeURIComponent(a.id)}`, class: "card" },
          cover(a.coverArt, 160, ""),
          h("span", { class: "card-title" }, a.name),
          h("span", { class: "card-sub" }, [a.artist ?? "", a.year ? ` · ${a.year}` : ""]),
        ),
      ),
    ),
  );
}

export function artistList(artists) {
  return h(
    "ul",
    { class: "chips" },
    artists.map((a) => h("li", {}, h("a", { href: `#/artist/${encodeURIComponent(a.id)}` }, a.name))),
  );
}

export async function albumView(ctx, id) {
  const { album } = await api("getAlbum", { id });
  const songs = album.song ?? [];
  const playable = songs.filter(canPlay);
  return h(
    "section",
    { class: "album", "aria-labelledby": "album-title" },
    h(
      "header",
      { class: "hero" },
      cover(album.coverArt, 240, `Cover of ${album.name}`),
      h(
        "div",
        {},
        h("h1", { id: "album-title" }, album.name),
        h("p", {}, album.artistId ? h("a", { href: `#/artist/${encodeURIComponent(album.artistId)}` }, album.artist) : album.artist, album.year ? ` · ${album.year}` : "", ` · ${songs.length} songs · ${formatTime(album.duration)}`),
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "primary", disabled: !playable.length, onclick: () => ctx.playSongs(playable, 0) }, "Play"),
          h("button", { type: "button", disabled: !playable.length, onclick: () => ctx.addToQueue(playable) }, "Add to queue"),
          starButton(ctx, album, album.name),
          ratingSelect(album, album.name),
        ),
      ),
    ),
    songTable(ctx, songs, { showAlbum: false }),
  );
}

export async function artistView(ctx, id) {
  const { artist } = await api("getArtist", { id });
  return h(
    "section",
    { class: "artist" },
    h("header", { class: "hero" }, cover(artist.coverArt, 160, `Picture of ${artist.name}`), h("div", {}, h("h1", {}, artist.name), h("p", {}, `${artist.albumCount ?? 0} albums`), starButton(ctx, artist, artist.name))),
    albumGrid(artist.album ?? []),
  );
}
