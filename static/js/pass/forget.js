// Loaded on every page shown to nobody logged in — the log-in page a log-out lands on among them:
// the pass kept on this phone for offline use (the page and the passes signed ahead) belonged to
// whoever was logged in, so it goes (wzcheckin/codes/views.py, "Offline design").
(function () {
  "use strict";
  if (window.caches) window.caches.delete("wzc-pass-data").catch(function () { return null; });
})();
