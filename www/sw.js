// The demo's service worker: makes www/ an offline-first app.
//
// - install: precaches the app shell and the package files the pages
//   import (the worker script and the wasm module included) into a cache
//   whose name carries VERSION; it then waits while an older version
//   controls open pages.
// - activate (first install, or after the page posts SKIP_WAITING): deletes
//   the caches of older versions and claims the open pages.
// - fetch: precached files cache-first (the network if missing); the
//   precached pages (/, /index.html, /notes.html, any query string) too, so
//   a page and its scripts always come from one version; any other
//   navigation goes to the network and falls back to the cached
//   index.html when that fails. Everything else is left to the network.
//
// VERSION is a placeholder that scripts/serve.mjs replaces, per request,
// with a hash of this file and of every precached file's contents, so any
// change to them makes the browser install a new version. A host that
// serves www/ without serve.mjs must do the same substitution.
const VERSION = '__NEURALDB_SW_VERSION__';
const PREFIX = 'neuraldb-shell-';
const CACHE = PREFIX + VERSION;

// The list serve.mjs hashes (it reads the quoted paths of this array).
// Everything the pages load must be here, the package's modules included:
// a file the package gains goes here too (the e2e scenario "PWA: works
// offline" fails otherwise).
const PRECACHE = [
  '/index.html',
  '/app.js',
  '/vectors.js',
  '/style.css',
  '/notes.html',
  '/notes.js',
  '/notes.css',
  '/embed.js',
  '/pwa.js',
  '/manifest.webmanifest',
  '/icons/icon.svg',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
  '/icons/apple-touch-icon.png',
  '/pkg/index.js',
  '/pkg/worker.js',
  '/pkg/wasm/neuraldb.js',
  '/pkg/wasm/neuraldb_bg.wasm',
];
const PRECACHED = new Set(PRECACHE);
const PAGES = new Map([['/', '/index.html'], ['/index.html', '/index.html'], ['/notes.html', '/notes.html']]);

self.addEventListener('install', (event) => {
  // cache: 'reload' bypasses the HTTP cache, so the files are the ones
  // this version was hashed from.
  event.waitUntil(caches.open(CACHE).then((cache) =>
    cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })))));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  const type = event.data?.type;
  if (type === 'SKIP_WAITING') self.skipWaiting();
  if (type === 'GET_VERSION') event.ports[0]?.postMessage({ type: 'VERSION', version: VERSION, cache: CACHE });
});

async function cached(path) {
  const cache = await caches.open(CACHE);
  return cache.match(path);
}

async function cacheFirst(request, path) {
  return (await cached(path)) ?? fetch(request);
}

async function navigate(request, url) {
  const page = PAGES.get(url.pathname);
  if (page) return (await cached(page)) ?? fetch(request);
  try {
    return await fetch(request);
  } catch (e) {
    const shell = await cached('/index.html');
    if (shell) return shell;
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(navigate(request, url));
  } else if (PRECACHED.has(url.pathname) && !url.search) {
    event.respondWith(cacheFirst(request, url.pathname));
  }
});
