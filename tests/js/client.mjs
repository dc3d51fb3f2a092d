// The npm `subsonic-api` client against a live Longplay server: node client.mjs URL USER PASSWORD
// Prints one JSON line of what it saw; exits non-zero on any failure.
import { SubsonicAPI } from "subsonic-api";

const [url, username, password] = process.argv.slice(2);
const api = new SubsonicAPI({ url, auth: { username, password } });

const ping = await api.ping();
const found = await api.search3({ query: "", songCount: 5 });
const songs = found.searchResult3.song ?? [];
const album = songs.length ? (await api.getAlbum({ id: songs[0].albumId })).album : null;
const lists = await api.getAlbumList2({ type: "newest", size: 3 });
const post = new SubsonicAPI({ url, auth: { username, password }, post: true });
const folders = await post.getMusicFolders();
console.log(
  JSON.stringify({
    ping: ping.status,
    songs: songs.length,
    album: album ? album.name : null,
    albums: (lists.albumList2.album ?? []).length,
    folders: folders.musicFolders.musicFolder.length,
  }),
);
