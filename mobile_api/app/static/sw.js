// The service worker: caches the app shell so the app opens with no network after the first visit.
// Only the shell is cached, cache first; API calls are never touched, so the app's own code sees every
// network failure and keeps its outbox. The server writes a digest of every shell file into VERSION when it
// serves this script, so a deploy that changes any file changes this script: the browser's own update check
// installs the new version (one fresh fetch of each file) and an unchanged shell costs a phone nothing more
// than that check on a slow link.

const VERSION = 'fieldlog-app-dev';
const SHELL = [
  '/app/',
  '/app/app.css',
  '/app/manifest.webmanifest',
  '/app/icons/icon.svg',
  '/app/icons/icon-192.png',
  '/app/icons/icon-512.png',
  '/app/js/cards.js',
  '/app/js/dom.js',
  '/app/js/forms.js',
  '/app/js/local.js',
  '/app/js/main.js',
  '/app/js/model.js',
  '/app/js/net.js',
  '/app/js/photos.js',
  '/app/js/rules.js',
  '/app/js/screens.js',
  '/app/js/store.js',
  '/app/js/sync.js',
  '/app/js/syncer.js',
];

self.addEventListener('install', (event) => {
  // cache: 'no-cache' asks the server whether the browser's copy is current (the page fetched every file a moment
  // ago on a first visit): a 304 keeps that copy, so a slow link carries the shell once; a changed file, whose
  // validator is a digest of its content, comes fresh, so a new version never stores an old copy of a file.
  const requests = SHELL.map((path) => new Request(path, {cache: 'no-cache'}));
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(requests)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/app')) return;
  const key = event.request.mode === 'navigate' ? '/app/' : url.pathname;
  event.respondWith(caches.open(VERSION).then(async (cache) => {
    const cached = await cache.match(key);
    if (cached) return cached;
    const res = await fetch(event.request);
    if (res.ok && SHELL.includes(key)) cache.put(key, res.clone());
    return res;
  }));
});
