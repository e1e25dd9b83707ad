// The service worker: caches the app shell so the app opens with no network after the first visit.
// Only the shell is cached (cache first, refreshed in the background); API calls are never touched, so
// the app's own code sees every network failure and keeps its outbox.

const VERSION = 'fieldlog-app-v1';
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
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
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
    const fresh = fetch(event.request).then((res) => {
      if (res.ok && SHELL.includes(key)) cache.put(key, res.clone());
      return res;
    });
    if (cached) {
      event.waitUntil(fresh.catch(() => null));
      return cached;
    }
    return fresh;
  }));
});
