// The views of the main pane: album grids, an album, an artist, search results, starred
// songs, playlists and the shuffle form. Each returns a DOM node; actions go through `ctx`.
import { api, COVER_PLACEHOLDER as PLACEHOLDER, coverUrl, formatTime } from "./api.js";
import { canPlay, h } from "./dom.js";


// The image is requested only when the view is shown for a moment (app.js sets data-src into
// src): typing a query must not queue dozens of cover requests ahead of the next search.
export function cover(id, size, alt) {
  return h("img", {
    class: "cover",
    src: PLACEHOLDER,
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
  btn.addEventListener("click", async () => {
    const on = btn.getAttribute("aria-pressed") !== "true";
    await api(on ? "star" : "unstar", { id: item.id });
    item.starred = on ? new Date().toISOString() : undefined;
    btn.setAttribute("aria-pressed", String(on));
    btn.textContent = on ? "★" : "☆";
    ctx.say(on ? `Starred ${label}` : `Unstarred ${label}`);
  });
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

// `compact` (search results, typed against): no rating or playlist menus, which cost about
// 2 ms a row to build; the album page has them.
export function songTable(ctx, songs, { showAlbum = true, compact = false } = {}) {
  const rows = songs.map((s, i) => {
    const held = canPlay(s);
    const swarm = held && s.held === false; // not held here: streamed from a peer
    const why = held ? null : ctx.notHeldReason(s);
    return h(
      "tr",
      { class: held ? (swarm ? "song swarm" : "song") : "song missing", dataset: { id: s.id } },
      h("td", { class: "num" }, s.track ?? i + 1),
      h(
        "td",
        { class: "title" },
        h(
          "button",
          {
            type: "button",
            class: "link play-song",
            disabled: !held,
            title: held ? (swarm ? "Play (streamed from a peer: not held here)" : "Play") : why,
            onclick: () => ctx.playSongs(songs, i),
          },
          s.title,
        ),
        !held ? h("span", { class: "badge", title: why }, why) : null,
        swarm ? h("span", { class: "badge swarm", title: "Not held here: a peer has it, so it streams from the swarm" }, "From a peer") : null,
        h("div", { class: "sub" }, [
          s.artistId
            ? h("a", { href: `#/artist/${encodeURIComponent(s.artistId)}` }, s.artist ?? "")
            : (s.artist ?? ""),
          showAlbum && s.albumId
            ? [" · ", h("a", { href: `#/album/${encodeURIComponent(s.albumId)}` }, s.album ?? "")]
            : null,
        ]),
      ),
      h("td", { class: "num dur" }, formatTime(s.duration)),
      h(
        "td",
        { class: "acts" },
        starButton(ctx, s, s.title),
        compact ? null : ratingSelect(s, s.title),
        h(
          "button",
          { type: "button", "aria-label": `Play ${s.title} next`, title: "Play next", disabled: !held, onclick: () => ctx.playNext([s]) },
          "⤴",
        ),
        h(
          "button",
          { type: "button", "aria-label": `Add ${s.title} to the queue`, title: "Add to queue", disabled: !held, onclick: () => ctx.addToQueue([s]) },
          "+",
        ),
        compact ? null : playlistSelect(ctx, s),
      ),
    );
  });
  const table = h(
    "table",
    { class: "songs" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "Title"), h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
    h("tbody", {}, rows),
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
