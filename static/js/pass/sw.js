// The pass page's service worker (served at /me/pass-sw.js by wzcheckin.codes.views, which
// prepends VERSION, PRECACHE, PAGE_PATH and LOGOUT_PATH; scope PAGE_PATH). Without signal the
// pass page comes from the cache, with its stylesheet and script; the page itself keeps the passes
// signed ahead in the same data cache (static/js/pass/pass.js).
//
// The kept page and passes belong to the account that loaded them: a log-out posted from the pass
// page, a page that answers "log in first", and any page shown to nobody logged in
// (static/js/pass/forget.js) delete the data cache. The scanner's own service worker (scope "/")
// is another registration and keeps its own rules.
/* global VERSION, PRECACHE, PAGE_PATH, LOGOUT_PATH */
"use strict";
var ASSETS = "wzc-pass-assets-" + VERSION;
var DATA = "wzc-pass-data";

function forget() { return caches.delete(DATA); }

function keepablePage(response) {
  // Only the real pass page: never a log-in page we were redirected to.
  return response && response.ok && !response.redirected && response.type === "basic";
}

function keepPage(response) {
  var copy = response.clone();
  return caches.open(DATA).then(function (cache) { return cache.put(PAGE_PATH, copy); });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(ASSETS).then(function (cache) { return cache.addAll(PRECACHE); }).then(function () {
    // The page that registered us was loaded before we existed: keep a copy now.
    return fetch(PAGE_PATH, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      return keepablePage(response) ? keepPage(response) : null;
    }).catch(function () { return null; });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("wzc-pass-assets-") === 0 && name !== ASSETS;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "logout") event.waitUntil(forget());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === LOGOUT_PATH) {
    event.waitUntil(forget());  // the request itself goes to the network untouched
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname === PAGE_PATH) {
    event.respondWith(fetch(request).then(function (response) {
      if (keepablePage(response)) {
        event.waitUntil(keepPage(response));
      } else if (response.redirected || response.status === 401 || response.status === 403) {
        event.waitUntil(forget());  // logged out, or someone else: nothing of the last pass stays
      }
      return response;
    }).catch(function () {
      return caches.open(DATA).then(function (cache) { return cache.match(PAGE_PATH); }).then(function (kept) {
        return kept || Response.error();
      });
    }));
    return;
  }
  if (PRECACHE.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.open(ASSETS).then(function (cache) {
      return cache.match(url.pathname).then(function (kept) {
        return kept || fetch(request).then(function (response) {
          if (response.ok) cache.put(url.pathname, response.clone());
          return response;
        });
      });
    }));
  }
});
