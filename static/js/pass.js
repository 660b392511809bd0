// The worker's pass: fetch a fresh signed code before the current one expires and swap the QR
// in place, so the page never needs a reload and a screenshot goes stale within minutes.
(function () {
  "use strict";
  var section = document.getElementById("pass");
  if (!section) return;
  var url = section.dataset.refreshUrl;
  var ttl = parseInt(section.dataset.ttl, 10) || 300;
  var code = document.getElementById("pass-code");
  var token = document.getElementById("pass-token");
  var status = document.getElementById("pass-status");
  var liveText = status.textContent;
  // Refresh at half the lifetime; on failure retry soon, and say the code may be stale.
  var refreshMs = Math.max(15, Math.floor(ttl / 2)) * 1000;
  var expiresAt = Date.now() + ttl * 1000;

  function markStale() {
    status.className = "pass-stale";
    status.textContent = document.documentElement.lang === "en"
      ? "Offline: this code may have expired. Reconnect to refresh it."
      : "网络断开：通行码可能已过期，请联网后自动刷新。";
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (!data) return;
        var parsed = new DOMParser().parseFromString(data.svg, "image/svg+xml").documentElement;
        code.replaceChildren(document.importNode(parsed, true));
        token.textContent = data.token;
        expiresAt = Date.now() + (data.ttl_seconds || ttl) * 1000;
        status.className = "pass-live";
        status.textContent = liveText;
        window.setTimeout(refresh, refreshMs);
      })
      .catch(function () {
        if (Date.now() > expiresAt - 5000) markStale();
        window.setTimeout(refresh, 10000);
      });
  }

  window.setTimeout(refresh, refreshMs);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && Date.now() > expiresAt - refreshMs / 2) refresh();
  });
})();
