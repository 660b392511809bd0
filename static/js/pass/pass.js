// The worker's pass (wzcheckin/codes/views.py, "Offline design"). It shows the freshest of the
// passes signed ahead that is valid now on the server's clock, redrawing the QR from its modules,
// and swaps it in place as time goes on — online or not. A clock that runs every second and a
// moving band (CSS) make a screenshot recognisable. The passes, with the offset between this
// phone's clock and the server's, are kept in the cache "wzc-pass-data" (which a log-out deletes);
// a new batch is fetched whenever the kept one covers less than half its hours.
(function () {
  "use strict";
  var section = document.getElementById("pass");
  if (!section) return;
  var data = section.dataset;
  var text = JSON.parse(document.getElementById("pass-text").textContent);
  var code = document.getElementById("pass-code");
  var token = document.getElementById("pass-token");
  var status = document.getElementById("pass-status");
  var clock = document.getElementById("pass-clock");
  var DATA_CACHE = "wzc-pass-data";
  var BATCH_KEY = data.batchUrl;
  var HOURS = parseInt(data.offlineHours, 10) || 4;
  var SVG = "http://www.w3.org/2000/svg";
  // Until a batch says better: the offset from the server's time this page was made with (wrong
  // by the page's age when it comes from the cache, which is why a kept batch's offset wins).
  var offset = parseInt(data.serverNow, 10) - Date.now();
  var firstExpires = Date.parse(data.expires);
  var batch = null;
  var online = true;
  var formatter = null;
  try {
    formatter = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
      timeZone: data.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  } catch (e) { formatter = null; }

  function serverNow() { return Date.now() + offset; }

  function setStatus(kind) {
    status.className = kind === "stale" ? "pass-stale" : "pass-live";
    status.textContent = text[kind];
  }

  function drawQr(entry) {
    var size = entry.size, border = 4, total = size + 2 * border;
    var bytes = window.atob(entry.modules);
    var path = [];
    for (var y = 0; y < size; y++) {
      var x = 0;
      while (x < size) {
        var i = y * size + x;
        if ((bytes.charCodeAt(i >> 3) >> (7 - (i & 7))) & 1) {
          var start = x;
          while (x < size) {
            var j = y * size + x;
            if (!((bytes.charCodeAt(j >> 3) >> (7 - (j & 7))) & 1)) break;
            x++;
          }
          path.push("M" + (start + border) + " " + (y + border) + "h" + (x - start) + "v1h-" + (x - start) + "z");
        } else {
          x++;
        }
      }
    }
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "qr");
    svg.setAttribute("role", "img");
    svg.setAttribute("viewBox", "0 0 " + total + " " + total);
    svg.setAttribute("shape-rendering", "crispEdges");
    var title = document.createElementNS(SVG, "title");
    title.textContent = text.title;
    var rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("width", total);
    rect.setAttribute("height", total);
    rect.setAttribute("fill", "#fff");
    var dark = document.createElementNS(SVG, "path");
    dark.setAttribute("d", path.join(""));
    dark.setAttribute("fill", "#000");
    svg.appendChild(title);
    svg.appendChild(rect);
    svg.appendChild(dark);
    code.replaceChildren(svg);
    token.textContent = entry.token;
  }

  // The freshest pass valid now (a new one starts before the last ends: it has time left).
  function pick(now) {
    var best = null;
    if (!batch) return null;
    for (var k = 0; k < batch.passes.length; k++) {
      var entry = batch.passes[k];
      if (entry.valid_from_ms <= now && now < entry.expires_ms - 5000 &&
          (!best || entry.valid_from_ms > best.valid_from_ms)) best = entry;
    }
    return best;
  }

  function tick() {
    var now = serverNow();
    if (formatter) {
      clock.textContent = formatter.format(new Date(now));
      clock.setAttribute("datetime", new Date(now).toISOString());
    }
    var entry = pick(now);
    if (entry) {
      if (entry.token !== token.textContent) drawQr(entry);
      setStatus(online ? "live" : "offline");
    } else if (!batch && now < firstExpires - 5000) {
      setStatus("live");  // the pass the page came with is still good
    } else {
      setStatus("stale");
    }
  }

  function keep(value) {
    if (!window.caches) return Promise.resolve();
    return window.caches.open(DATA_CACHE).then(function (cache) {
      return cache.put(BATCH_KEY, new Response(JSON.stringify(value), { headers: { "Content-Type": "application/json" } }));
    }).catch(function () { return null; });
  }

  function kept() {
    if (!window.caches) return Promise.resolve(null);
    return window.caches.open(DATA_CACHE).then(function (cache) { return cache.match(BATCH_KEY); })
      .then(function (response) { return response ? response.json() : null; })
      .catch(function () { return null; });
  }

  function use(value) {
    if (!value || value.owner !== data.owner || !value.passes || !value.passes.length) return false;
    batch = value;
    offset = value.offset;
    return true;
  }

  function coveredUntil() {
    return batch ? batch.passes[batch.passes.length - 1].expires_ms : 0;
  }

  function refresh() {
    return fetch(data.batchUrl, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403 || response.redirected) {
          if (window.caches) window.caches.delete(DATA_CACHE);
          window.location.reload();
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) {
        if (!body) return;
        online = true;
        var value = { owner: body.owner, offset: body.server_now_ms - Date.now(), passes: body.passes };
        use(value);
        tick();
        return keep(value);
      })
      .catch(function () { online = false; tick(); });
  }

  function refreshIfDue() {
    if (!batch || coveredUntil() - serverNow() < HOURS * 3600 * 1000 / 2) return refresh();
    online = navigator.onLine !== false;
    tick();
    return null;
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(data.swUrl, { scope: data.swScope }).catch(function () { return null; });
  }
  kept().then(function (value) {
    use(value);
    tick();
    window.setInterval(tick, 1000);
    return refreshIfDue();
  });
  window.setInterval(refreshIfDue, 60000);
  window.addEventListener("online", refreshIfDue);
  window.addEventListener("offline", function () { online = false; tick(); });
})();
