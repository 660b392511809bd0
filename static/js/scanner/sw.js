// The scanner's service worker (served at /sw.js by wzcheckin.scanning.views, which prepends
// VERSION, PRECACHE, SCANNER_PATH, KEYS_PATH, SESSION_PATH and LOGOUT_PATH). It keeps the scanner usable
// through a signal drop: the page, its scripts, the QR decoder and its WebAssembly come from the
// cache; the public keys are fetched fresh when possible and from the cache otherwise. Writes
// (POST /api/v1/scans) are never touched: the page's outbox retries them itself.
//
// The cached scanner page belongs to the account that loaded it (its checkpoint, its outbox key):
// a log-out — seen here as the POST to LOGOUT_PATH from any page, and told by the scanner page
// itself — deletes it from every cache, so the next person on the phone finds nothing of it.
/* global VERSION, PRECACHE, SCANNER_PATH, KEYS_PATH, SESSION_PATH, LOGOUT_PATH */
"use strict";
var CACHE = "wzc-scanner-" + VERSION;

function cacheablePage(response) {
  // Only the real scanner page: never a log-in page we were redirected to.
  return response && response.ok && !response.redirected && response.type === "basic";
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(PRECACHE.concat([KEYS_PATH])).then(function () {
      return fetch(SCANNER_PATH, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
        if (cacheablePage(response)) return cache.put(SCANNER_PATH, response);
        return null;
      }).catch(function () { return null; });
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("wzc-scanner-") === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// Every cached page that shows an account's data (today only the scanner page), in every
// version of the cache.
function forgetPages() {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name.indexOf("wzc-scanner-") === 0; }).map(function (name) {
      return caches.open(name).then(function (cache) { return cache.delete(SCANNER_PATH); });
    }));
  });
}

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "logout") {
    event.waitUntil(forgetPages().then(function () {
      if (event.source && event.source.postMessage) event.source.postMessage({ type: "forgotten" });
    }));
  }
});

function networkFirst(request, cacheKey, isPage) {
  return fetch(request).then(function (response) {
    var copy = response.clone();
    caches.open(CACHE).then(function (cache) {
      if (!isPage || cacheablePage(response)) return cache.put(cacheKey, copy);
      // Logged out: forget the cached scanner page rather than show it to the next person.
      if (response.redirected) return cache.delete(cacheKey);
      return null;
    });
    return response;
  }).catch(function () {
    return caches.open(CACHE).then(function (cache) { return cache.match(cacheKey); }).then(function (cached) {
      return cached || Response.error();
    });
  });
}

function cacheFirst(request, cacheKey) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(cacheKey).then(function (cached) {
      return cached || fetch(request).then(function (response) {
        if (response.ok) cache.put(cacheKey, response.clone());
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method === "POST" && url.origin === self.location.origin && url.pathname === LOGOUT_PATH) {
    event.waitUntil(forgetPages());  // the request itself goes to the network untouched
    return;
  }
  if (request.method !== "GET") return;
  if (url.origin !== self.location.origin || url.pathname === SESSION_PATH) return;
  if (url.pathname === SCANNER_PATH || (request.mode === "navigate" && url.pathname === "/")) {
    // The start URL "/" offline opens the cached scanner; online it goes where it always goes.
    if (url.pathname === "/") {
      event.respondWith(fetch(request).catch(function () {
        return caches.open(CACHE).then(function (cache) { return cache.match(SCANNER_PATH); }).then(function (cached) {
          return cached || Response.error();
        });
      }));
      return;
    }
    event.respondWith(networkFirst(request, SCANNER_PATH, true));
    return;
  }
  if (url.pathname === KEYS_PATH) {
    event.respondWith(networkFirst(request, KEYS_PATH, false));
    return;
  }
  if (PRECACHE.indexOf(url.pathname) >= 0) {
    event.respondWith(cacheFirst(request, url.pathname));
  }
});
