// The staff scanner: camera (native BarcodeDetector, else the vendored jsQR in a worker), a
// keyboard-wedge scanner gun or typed entry → POST /api/v1/scans → a full-screen green or red
// answer with a sound and a vibration. Every scan goes through the IndexedDB outbox first
// (outbox.js), so a dropped signal only delays the upload; offline, the signature is checked
// on the device (codes.js) and the answer is marked provisional.
//
// Shared phones: a queued scan belongs to the account that made it and is sealed with that
// account's key (outbox.js); only that account's session uploads it, others see a count. Log-out
// wipes what the page shows and the cached page. Time: scans are stamped on the server's
// timeline (device clock + the offset measured against /scan/time), never the phone's alone.
(function () {
  "use strict";
  var configElement = document.getElementById("scanner-config");
  if (!configElement) return;
  var config = JSON.parse(configElement.textContent);
  var T = config.text;
  var isGate = config.mode === "gate";
  var CAMERA_REPEAT_MS = 3000;   // the same code in front of the camera counts once per 3 s
  var SEND_TIMEOUT_MS = 4000;    // then answer from the device and upload later
  var FLUSH_EVERY_MS = 10000;

  function $(id) { return document.getElementById(id); }
  function noop() {}

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.content : "";
  // The account this page belongs to: its scans, its key. The session may end (the scans stay
  // queued under it) or turn out to be another account's (the page then reloads for that one).
  var owner = config.staff_id;
  var outboxKey = WZOutbox.importKey(config.outbox_key);
  var keys = {};
  var kindNames = {};
  Object.keys(config.kinds).forEach(function (name) { kindNames[config.kinds[name]] = name; });
  var answerTimer = null, lastCode = "", lastCodeAt = 0, pending = null, flushing = false;
  var deviceId = (function () {
    try {
      var id = localStorage.getItem("wzc-device");
      if (!id) { id = "web-" + newScanId().slice(0, 12); localStorage.setItem("wzc-device", id); }
      return id;
    } catch (e) { return "web"; }
  })();

  function newScanId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, name) { return values[name] === undefined ? "" : values[name]; });
  }

  function timeOf(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2) + ":" + ("0" + d.getSeconds()).slice(-2);
  }

  // --- the server's time -------------------------------------------------------------------
  // offset = server time − device time, measured against /scan/time and kept on the phone (it
  // is no one's personal data) so scans taken offline after a reload are stamped right too.
  var CLOCK_WARN_MS = 60000;
  var clockOffset = (function () {
    try {
      var kept = JSON.parse(localStorage.getItem("wzc-clock"));
      return kept && typeof kept.offset === "number" ? kept.offset : null;
    } catch (e) { return null; }
  })();

  function serverNow() { return Date.now() + (clockOffset || 0); }

  function showClock() {
    var warning = $("clock-status");
    var off = clockOffset !== null && Math.abs(clockOffset) > CLOCK_WARN_MS;
    warning.hidden = !off;
    document.body.dataset.clock = clockOffset === null ? "unknown" : off ? "off" : "ok";
    if (off) {
      var server = new Date(serverNow()), shown;
      try {
        shown = server.toLocaleString(document.documentElement.lang || undefined, {
          timeZone: config.timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
        });
      } catch (e) { shown = server.toISOString().slice(0, 16).replace("T", " "); }
      warning.textContent = format(T.clock_off, { time: shown });
    }
  }

  function syncClock() {
    var sent = Date.now();
    return fetch(config.urls.time, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (data) {
        var received = Date.now();
        if (received - sent > 10000 || typeof data.epoch_ms !== "number") return;  // too slow to tell
        clockOffset = data.epoch_ms - Math.round((sent + received) / 2);
        try { localStorage.setItem("wzc-clock", JSON.stringify({ offset: clockOffset, measured: received })); } catch (e) { /* private mode */ }
        showClock();
      }).catch(noop);
  }

  // A scan taken before the offset was known is stamped on the device's clock; it is put on the
  // server's timeline as soon as the offset is known (before it is first sent).
  function stamp(item) {
    if (item.offset === null && clockOffset !== null) {
      item.offset = clockOffset;
      item.scanned_at = new Date(item.device_at + clockOffset).toISOString();
    }
    return item;
  }

  // --- sound and vibration ----------------------------------------------------------------
  var audio = null;
  function unlockAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    if (audio && audio.state === "suspended") audio.resume().catch(noop);
  }
  document.addEventListener("pointerdown", unlockAudio, { passive: true });
  document.addEventListener("keydown", unlockAudio);

  function signal(state) {
    try {
      unlockAudio();
      if (audio) {
        var start = audio.currentTime;
        var tones = state === "ok" ? [[1046, 0, 0.12], [1568, 0.13, 0.16]]
          : state === "bad" ? [[220, 0, 0.2], [196, 0.28, 0.3]] : [[660, 0, 0.15]];
        tones.forEach(function (tone) {
          var osc = audio.createOscillator(), gain = audio.createGain();
          osc.type = state === "bad" ? "square" : "sine";
          osc.frequency.value = tone[0];
          gain.gain.setValueAtTime(0.25, start + tone[1]);
          gain.gain.exponentialRampToValueAtTime(0.001, start + tone[1] + tone[2]);
          osc.connect(gain);
          gain.connect(audio.destination);
          osc.start(start + tone[1]);
          osc.stop(start + tone[1] + tone[2] + 0.02);
        });
      }
    } catch (e) { /* no sound on this device */ }
    if (navigator.vibrate) navigator.vibrate(state === "ok" ? 120 : state === "bad" ? [250, 100, 250] : 60);
  }

  // --- the answer card --------------------------------------------------------------------
  function subjectText(subject) {
    if (!subject) return "";
    return [subject.name, subject.enterprise, subject.pickup_point, subject.venue, subject.slot]
      .filter(function (part) { return part; }).join(" · ");
  }

  function showAnswer(answer) {
    var card = $("answer");
    card.className = "answer answer-" + answer.state;
    card.dataset.state = answer.state;
    card.dataset.reason = answer.reason || "";
    $("answer-verdict").textContent = answer.state === "ok" ? T.accepted : answer.state === "bad" ? T.rejected : T.queued;
    $("answer-message").textContent = answer.message || "";
    $("answer-subject").textContent = subjectText(answer.subject);
    $("answer-note").textContent = answer.note || "";
    var confirmButton = $("answer-confirm");
    confirmButton.hidden = !answer.confirmable;
    confirmButton.dataset.scanId = answer.scan_id || "";
    card.hidden = false;
    signal(answer.state);
    clearTimeout(answerTimer);
    answerTimer = setTimeout(hideAnswer, answer.confirmable ? 8000 : answer.state === "ok" ? 1500 : 3000);
  }

  function hideAnswer() {
    clearTimeout(answerTimer);
    $("answer").hidden = true;
  }

  $("answer").addEventListener("click", function (event) {
    if (event.target.id !== "answer-confirm") hideAnswer();
  });

  $("answer-confirm").addEventListener("click", function (event) {
    event.stopPropagation();
    var button = this;
    button.disabled = true;
    fetch(config.urls.confirm.replace("{scan_id}", encodeURIComponent(button.dataset.scanId)), {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken }
    }).then(function (response) {
      if (response.ok) {
        $("answer-note").textContent = T.confirmed;
        button.hidden = true;
        clearTimeout(answerTimer);
        answerTimer = setTimeout(hideAnswer, 800);
        return;
      }
      // Every failure says why: the server's own message, else the status.
      return response.json().catch(function () { return null; }).then(function (data) {
        var error = (data && data.error) || {};
        if (response.status === 401) markSession(false);
        $("answer-note").textContent = format(T.confirm_failed, { message: error.message || error.code || "HTTP " + response.status });
      });
    }).catch(function () {
      $("answer-note").textContent = format(T.confirm_failed, { message: T.offline });
    }).then(function () { button.disabled = false; });
  });

  function addResult(answer, item, uploaded) {
    var list = $("results");
    var li = document.createElement("li");
    li.className = "result result-" + answer.state;
    li.dataset.scanId = item.scan_id;
    var text = timeOf(item.scanned_at) + " " + (answer.state === "ok" ? T.accepted : answer.state === "bad" ? T.rejected : T.queued) +
      " · " + (answer.message || "");
    var who = subjectText(answer.subject);
    if (who) text += " · " + who;
    if (uploaded) {
      text = T.uploaded + " · " + text;
      if (item.provisional && item.provisional.state !== answer.state) {
        li.className += " result-changed";
        text += " (" + T.changed + ")";
      }
    }
    li.textContent = text;
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 20) list.removeChild(list.lastChild);
  }

  // A worker's pass shown at a venue: say what is needed, not only "not accepted here".
  function isPassAtVenue(token, reason) {
    if (config.mode !== "venue" || reason !== "wrong_kind") return false;
    var claims = WZCodes.parse(token);
    var kind = claims ? kindNames[claims.kind] : null;
    return kind === "pass" || kind === "paper_pass";
  }

  function serverAnswer(data, item) {
    var state = data.result === "accepted" ? "ok" : "bad";
    var message = data.message;
    if (item && isPassAtVenue(item.token, data.reason)) message = T.booking_needed;
    return {
      state: state, reason: data.reason, message: message, subject: data.subject, scan_id: data.scan_id,
      // Only a pack actually handed out at a pickup point is confirmed on screen.
      confirmable: config.mode === "pickup" && data.reason === "pack_handed_out" && state === "ok"
    };
  }

  // --- talking to the server --------------------------------------------------------------
  function requestBody(item) {
    stamp(item);
    var body = { token: item.token, scan_id: item.scan_id, scanned_at: item.scanned_at, device: deviceId };
    if (item.mask !== undefined) body.mask = item.mask;
    if (item.temperature !== undefined && item.temperature !== null) body.temperature = item.temperature;
    if (item.symptoms !== undefined) body.symptoms = item.symptoms;
    return body;
  }

  // The session ended: scans stay queued under this page's account until it logs in again; the
  // link goes through the scanner's address, so the log-in returns here.
  function markSession(ok) {
    $("session-status").hidden = ok;
    document.body.classList.toggle("session-ended", !ok);
  }

  function send(item, timeoutMs) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, timeoutMs) : null;
    return fetch(config.urls.scans, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(requestBody(item)), signal: controller ? controller.signal : undefined
    }).then(function (response) {
      clearTimeout(timer);
      return response.json().catch(function () { return null; }).then(function (data) {
        // final === false: refused by the server's clock and not stored; keep it queued, send again.
        if (response.ok && data && data.result && data.final === false) { markSession(true); throw { kind: "clock", data: data }; }
        if (response.ok && data && data.result) { markSession(true); return data; }
        var error = (data && data.error) || {};
        if (response.status === 401) { markSession(false); throw { kind: "session" }; }
        if (response.status === 403 && error.code === "csrf_failed") throw { kind: "csrf" };
        if (response.status >= 500 || response.status === 429) throw { kind: "retry" };
        throw { kind: "final", code: error.code, message: error.message || "HTTP " + response.status };
      });
    }, function () {
      clearTimeout(timer);
      throw { kind: "network" };
    });
  }

  function refreshSession() {
    return fetch(config.urls.session, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { markSession(false); throw { kind: "session" }; }
        return response.json();
      }).then(function (data) {
        if (data.staff_id !== owner) {
          // Another account logged in (another tab, another page): this page is not theirs.
          forgetShown();
          location.reload();
          throw { kind: "session" };
        }
        csrfToken = data.csrf_token;
        markSession(true);
      }, function (error) {
        throw error && error.kind ? error : { kind: "network" };
      });
  }

  function sendFresh(item, timeoutMs) {
    return send(item, timeoutMs).catch(function (error) {
      if (error.kind !== "csrf") throw error;
      return refreshSession().then(function () { return send(item, timeoutMs); });
    });
  }

  // The device's own answer while the server cannot be reached.
  function provisional(item) {
    return WZCodes.verify(item.token, keys, Date.parse(item.scanned_at)).then(function (check) {
      var reasons = T.reasons;
      if (check.status === "invalid") {
        return { state: "bad", reason: check.reason, message: reasons[check.reason] || check.reason, note: T.queued };
      }
      if (check.status === "unknown") return { state: "pending", reason: "unknown", message: T.provisional_unknown };
      if (config.accepted_kinds.indexOf(kindNames[check.claims.kind]) < 0) {
        var wrong = isPassAtVenue(item.token, "wrong_kind") ? T.booking_needed : reasons.wrong_kind;
        return { state: "bad", reason: "wrong_kind", message: wrong, note: T.queued };
      }
      if (isGate) {
        // Refused on the spot, but nothing is reported until the scan is uploaded: say so.
        if (item.temperature !== undefined && item.temperature !== null && item.temperature >= config.fever_celsius) {
          return { state: "bad", reason: "fever", message: format(T.fever_offline, { temperature: item.temperature.toFixed(1) }), note: T.queued };
        }
        if (item.symptoms) return { state: "bad", reason: "symptoms", message: T.symptoms_offline, note: T.queued };
        if (config.mask_required && item.mask === false) return { state: "bad", reason: "no_mask", message: reasons.no_mask, note: T.queued };
        if (item.temperature === undefined || item.temperature === null) {
          return { state: "bad", reason: "checks_missing", message: reasons.checks_missing, note: T.queued };
        }
      }
      return { state: "ok", reason: "provisional", message: T.provisional_ok, note: T.queued };
    });
  }

  // --- the queue ----------------------------------------------------------------------------
  // This account's queued items (decrypted) and how many other accounts' records wait.
  function queued() {
    return outboxKey.then(function (key) { return WZOutbox.forOwner(owner, key); });
  }

  function refreshQueue() {
    return queued().then(function (queue) {
      var items = queue.mine;
      $("queue-count").textContent = String(items.length);
      document.body.dataset.queued = String(items.length);
      document.body.dataset.queuedOthers = String(queue.others);
      var list = $("queue-list");
      list.textContent = "";
      items.slice(-20).reverse().forEach(function (item) {
        var li = document.createElement("li");
        var state = item.provisional ? item.provisional.state : "pending";
        li.className = "queued queued-" + state;
        li.textContent = timeOf(item.scanned_at) + " · " + (item.provisional ? item.provisional.message : T.queued);
        list.appendChild(li);
      });
      $("queue-status").textContent = items.length ? format(T.queue_count, { count: items.length }) : T.queue_empty;
      var others = $("queue-others");
      others.hidden = !queue.others;
      others.textContent = queue.others ? format(T.others_waiting, { count: queue.others }) : "";
      var unreadable = $("queue-unreadable");
      unreadable.hidden = !queue.unreadable;
      unreadable.textContent = queue.unreadable ? format(T.unreadable, { count: queue.unreadable }) : "";
      return items;
    }).catch(noop);
  }

  function flush() {
    if (flushing) return Promise.resolve();
    flushing = true;
    return queued().then(function (queue) {
      // Only this account's scans; those still in their first send are left to it; the others
      // are uploaded oldest first.
      var now = Date.now();
      var mine = queue.mine.filter(function (item) { return item.provisional || now - item.created > 30000; });
      if (!mine.length) return null;
      return refreshSession().then(function () {
        return mine.reduce(function (chain, item) {
          return chain.then(function () {
            return sendFresh(item, 15000).then(function (data) {
              return WZOutbox.remove(item.scan_id).then(function () {
                var answer = serverAnswer(data, item);
                if (data.reason === "pack_handed_out") bumpStock();
                addResult(answer, item, true);
              });
            }, function (error) {
              // Offline again, logged out, or the server's clock not there yet: stop here.
              if (error.kind !== "final") throw error;
              return WZOutbox.remove(item.scan_id).then(function () {
                addResult({ state: "bad", message: format(T.error, { message: error.message }) }, item, true);
              });
            });
          });
        }, Promise.resolve());
      });
    }).catch(noop).then(function () {
      flushing = false;
      return refreshQueue();
    });
  }

  function store(item) {
    return outboxKey.then(function (key) { return WZOutbox.put(item, owner, key); });
  }

  function bumpStock() {
    var stock = $("stock-count");
    if (stock && Number(stock.textContent) > 0) stock.textContent = String(Number(stock.textContent) - 1);
  }

  // --- a scan ---------------------------------------------------------------------------
  function gateChecks() {
    var raw = $("temperature").value.trim().replace("，", ".").replace(",", ".");
    var temperature = raw ? Number(raw) : null;
    return { mask: $("mask").checked, temperature: temperature, symptoms: $("symptoms").checked, raw: raw };
  }

  function resetGateChecks() {
    $("temperature").value = "";
    $("temperature").removeAttribute("aria-invalid");
    $("symptoms").checked = false;
    $("mask").checked = false;  // never pre-ticked: each person's mask is looked at
    questioned = null;
  }

  function askForTemperature(token, message) {
    pending = token;
    $("camera-status").textContent = message || T.enter_temperature;
    document.body.classList.add("awaiting-temperature");
    $("temperature").focus();
  }

  // Gate input is questioned before it is sent: a typo such as 3.65 or 65 is no body temperature
  // (the server refuses it too) and must be typed again; an unusual reading, or the mask box left
  // unticked, is sent on a second OK with the same input. Returns true when the scan may go.
  var USUAL_TEMPERATURE = [35, 42];  // °C: a plausibility check for typing slips, not a policy figure
  var questioned = null;
  function gateChecksPass(token, checks, source) {
    var range = config.temperature_range || [30, 45];
    var field = $("temperature");
    if (checks.temperature === null || isNaN(checks.temperature) ||
        checks.temperature < range[0] || checks.temperature > range[1]) {
      if (checks.raw) field.setAttribute("aria-invalid", "true");
      askForTemperature(token, checks.raw ? format(T.temperature_impossible, { temperature: checks.raw }) : null);
      return false;
    }
    field.removeAttribute("aria-invalid");
    var question = null;
    if (checks.temperature < USUAL_TEMPERATURE[0] || checks.temperature > USUAL_TEMPERATURE[1]) {
      question = ["unusual", checks.raw, format(T.temperature_unusual, { temperature: checks.raw })];
    } else if (config.mask_required && !checks.mask) {
      question = ["mask", checks.raw, T.mask_unticked];
    }
    if (!question) return true;
    var key = question[0] + ":" + question[1] + ":" + token;
    // Asked already, and OK pressed again on the same input (the camera reading the code again
    // is no answer).
    if (questioned === key && source === "typed") return true;
    questioned = key;
    askForTemperature(token, question[2]);
    if (question[0] === "mask") $("mask").focus();
    return false;
  }

  function handleCode(raw, source) {
    var token = (raw || "").trim();
    if (!token) return;
    var now = Date.now();
    if (source === "camera" && token === lastCode && now - lastCodeAt < CAMERA_REPEAT_MS) return;
    lastCode = token;
    lastCodeAt = now;
    if (isGate && !gateChecksPass(token, gateChecks(), source)) return;
    submit(token);
  }

  function submit(token) {
    pending = null;
    document.body.classList.remove("awaiting-temperature");
    var deviceAt = Date.now();
    var item = {
      scan_id: newScanId(), token: token, device_at: deviceAt, offset: clockOffset,
      scanned_at: new Date(deviceAt + (clockOffset || 0)).toISOString(),
      checkpoint: config.checkpoint, created: deviceAt
    };
    if (isGate) {
      var checks = gateChecks();
      item.mask = checks.mask;
      item.temperature = checks.temperature;
      item.symptoms = checks.symptoms;
      resetGateChecks();
    }
    $("code-input").value = "";
    return store(item).catch(noop).then(function () {
      return sendFresh(item, SEND_TIMEOUT_MS);
    }).then(function (data) {
      return WZOutbox.remove(item.scan_id).catch(noop).then(function () {
        var answer = serverAnswer(data, item);
        if (data.reason === "pack_handed_out") bumpStock();
        showAnswer(answer);
        addResult(answer, item, false);
        refreshQueue();
      });
    }, function (error) {
      if (error && error.kind === "final") {
        return WZOutbox.remove(item.scan_id).catch(noop).then(function () {
          var answer = { state: "bad", reason: error.code, message: format(T.error, { message: error.message }) };
          showAnswer(answer);
          addResult(answer, item, false);
          refreshQueue();
        });
      }
      return provisional(item).then(function (answer) {
        // An invalid code is said first; only a code the device cannot fault gets the server's
        // clock message (and the scan waits for that clock).
        if (error && error.kind === "clock") {
          syncClock();
          if (answer.state !== "bad") answer = { state: "pending", reason: error.data.reason, message: error.data.message, note: T.clock_note };
        } else if (error && error.kind === "session") {
          answer.note = T.session_note;
        }
        item.provisional = { state: answer.state, reason: answer.reason, message: answer.message };
        return store(item).catch(noop).then(function () {
          showAnswer(answer);
          addResult(answer, item, false);
          refreshQueue();
        });
      });
    });
  }

  $("code-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = $("code-input").value;
    if (value.trim()) handleCode(value, "typed");
    else if (pending) handleCode(pending, "typed");
  });

  if (isGate) {
    $("temperature").addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        if (pending) handleCode(pending, "typed");
        else $("code-input").focus();
      }
    });
  }

  // A keyboard-wedge scanner gun types the code and Enter faster than any person; catch it
  // wherever the focus is not in a text field, so the phone's keyboard need not be open. In the
  // temperature field a letter starts a code (every code begins with "A", temperatures never
  // hold letters), so a gatekeeper who typed 36.5 can fire the gun straight away.
  var wedge = "", wedgeAt = 0;
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var inTemperature = target && target.id === "temperature";
    if (!inTemperature && target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
        target.tagName === "SELECT")) return;
    var now = Date.now();
    if (now - wedgeAt > 150) wedge = "";
    if (inTemperature && !wedge && !/^[A-Za-z]$/.test(event.key)) return;  // a person typing digits
    wedgeAt = now;
    if (event.key === "Enter") {
      if (wedge.length >= 16) { event.preventDefault(); handleCode(wedge, "wedge"); }
      wedge = "";
    } else if (event.key && event.key.length === 1) {
      wedge += event.key;
      if (inTemperature) event.preventDefault();
    }
  }, true);

  // --- camera -------------------------------------------------------------------------------
  var video = $("camera-video"), stream = null, detector = null, detecting = false, cameraWanted = true;

  function setCameraStatus(text) { $("camera-status").textContent = text; }

  function nativeDetector() {
    var Native = window.BarcodeDetector;
    return Native && Native.getSupportedFormats
      ? Native.getSupportedFormats().then(function (formats) {
        return formats.indexOf("qr_code") >= 0 ? new Native({ formats: ["qr_code"] }) : null;
      }).catch(function () { return null; })
      : Promise.resolve(null);
  }

  // A phone that can read no code with its camera: say so once and offer the other two ways.
  function cameraUnsupported() {
    stopCamera();
    cameraWanted = false;
    $("camera").classList.add("camera-failed");
    document.body.dataset.camera = "unsupported";
    setCameraStatus(T.camera_unsupported);
    $("camera-toggle").hidden = true;
    $("code-input").focus();
  }

  // Without a native BarcodeDetector: the vendored jsQR (≈ 33 KB in Brotli) in a Web Worker
  // (qr-worker.js), fed one frame at a time, scaled down to at most FRAME_MAX pixels on its
  // longer side (a pass held up to the camera fills much of the picture; smaller frames decode
  // faster). The same detect(video) → [{rawValue}] as the native detector.
  var FRAME_MAX = 800;
  function workerDetector() {
    return new Promise(function (resolve, reject) {
      var worker = new Worker(config.urls.decoder_worker);
      var canvas = document.createElement("canvas");
      var context = canvas.getContext("2d", { willReadFrequently: true });
      var loaded = false, waiting = null;
      function fail(error) {
        if (waiting) { waiting.reject(error); waiting = null; }
        if (!loaded) { worker.terminate(); reject(error); }
      }
      worker.onerror = function (event) { if (event.preventDefault) event.preventDefault(); fail(new Error("decoder")); };
      worker.onmessage = function (event) {
        var message = event.data || {};
        if (message.type === "loaded") {
          if (!message.ok) { fail(new Error("decoder")); return; }
          loaded = true;
          resolve({ detect: detect });
        } else if (message.type === "frame" && waiting) {
          var done = waiting.resolve;
          waiting = null;
          done(message.text ? [{ rawValue: message.text }] : []);
        }
      };
      worker.postMessage({ type: "load", url: config.urls.decoder });

      function detect(source) {
        return new Promise(function (done, failed) {
          var scale = Math.min(1, FRAME_MAX / Math.max(source.videoWidth, source.videoHeight));
          var width = Math.round(source.videoWidth * scale), height = Math.round(source.videoHeight * scale);
          if (!width || !height || !context) { done([]); return; }
          if (canvas.width !== width) canvas.width = width;
          if (canvas.height !== height) canvas.height = height;
          context.drawImage(source, 0, 0, width, height);
          var pixels = context.getImageData(0, 0, width, height).data.buffer;
          waiting = { resolve: done, reject: failed };
          worker.postMessage({ type: "frame", width: width, height: height, data: pixels }, [pixels]);
        });
      }
    });
  }

  function makeDetector() {
    return nativeDetector().then(function (found) {
      if (found) { document.body.dataset.decoder = "native"; return found; }
      document.body.dataset.decoder = "jsqr";
      setCameraStatus(T.decoder_loading);
      return workerDetector();
    });
  }

  // One decoder for the page, loaded once (again after a failure, such as offline with nothing cached).
  var detectorLoading = null;
  function loadDetector() {
    if (detector) return Promise.resolve(detector);
    if (!detectorLoading) {
      detectorLoading = makeDetector().then(function (made) { detector = made; return made; }, function (error) {
        detectorLoading = null;
        throw error;
      });
    }
    return detectorLoading;
  }

  function tick() {
    if (!stream) return;
    if (!detecting && detector && video.readyState >= 2) {
      detecting = true;
      detector.detect(video).then(function (codes) {
        // A frame read after the camera was turned off is not a scan.
        if (stream && codes && codes.length) handleCode(codes[0].rawValue, "camera");
      }).catch(noop).then(function () { detecting = false; });
    }
    setTimeout(tick, 120);
  }

  function startCamera() {
    if (stream || document.body.dataset.camera === "unsupported") return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { setCameraStatus(T.camera_failed); return; }
    if (!detector) {
      // Ask for the camera only when something can read its pictures.
      nativeDetector().then(function (found) {
        if (found || window.Worker) { detectorChecked(); return; }
        document.body.dataset.decoder = "none";
        cameraUnsupported();
      });
      return;
    }
    detectorChecked();
  }

  function detectorChecked() {
    if (stream) return;
    // The decoder loads while the camera starts (on a slow network its download is the wait).
    var reader = loadDetector();
    reader.catch(noop);
    navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
    }).then(function (media) {
      stream = media;
      video.srcObject = media;
      return video.play();
    }).then(function () {
      return reader;
    }).then(function () {
      $("camera").classList.add("camera-live");
      document.body.dataset.camera = "live";
      if (!pending) setCameraStatus(T.camera_on);
      tick();
    }).catch(function () {
      stopCamera();
      $("camera").classList.add("camera-failed");
      document.body.dataset.camera = "failed";
      setCameraStatus(T.camera_failed);
    });
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    $("camera").classList.remove("camera-live");
  }

  $("camera-toggle").addEventListener("click", function () {
    cameraWanted = !stream;
    if (stream) { stopCamera(); setCameraStatus(T.camera_off); } else startCamera();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") stopCamera();
    else if (cameraWanted) startCamera();
  });

  // --- log-out -------------------------------------------------------------------------------
  // What the page shows of this account: answers, names, the queue's contents.
  function forgetShown() {
    hideAnswer();
    ["answer-verdict", "answer-message", "answer-subject", "answer-note", "results", "queue-list"].forEach(function (id) {
      $(id).textContent = "";
    });
    config.outbox_key = null;
    outboxKey = Promise.resolve(null);
  }

  // Before the log-out leaves: wipe the page, then have the service worker (and the page itself,
  // where no worker runs) delete the cached scanner page. The queue stays, sealed.
  function forgetCachedPages() {
    var jobs = [];
    if (window.caches) {
      jobs.push(caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) { return name.indexOf("wzc-scanner-") === 0; }).map(function (name) {
          return caches.open(name).then(function (cache) { return cache.delete(config.urls.scanner); });
        }));
      }));
    }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "logout" });
    }
    return Promise.all(jobs);
  }

  var logoutForm = document.querySelector('form[action="' + config.urls.logout + '"]');
  if (logoutForm) {
    logoutForm.addEventListener("submit", function (event) {
      if (logoutForm.dataset.cleared) return;
      event.preventDefault();
      forgetShown();
      stopCamera();
      var done = false;
      function leave() {
        if (done) return;
        done = true;
        logoutForm.dataset.cleared = "1";
        logoutForm.submit();
      }
      forgetCachedPages().then(leave, leave);
      setTimeout(leave, 1500);
    });
  }

  // Back to this page from the history after a log-out: never the old picture, a fresh load.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) location.reload();
  });

  // --- network, keys, service worker ----------------------------------------------------------
  function showNetwork() {
    var online = navigator.onLine;
    $("net-status").textContent = online ? T.online : T.offline;
    $("net-status").className = "scanner-net " + (online ? "net-online" : "net-offline");
  }

  function loadKeys() {
    return fetch(config.urls.keys, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (document) {
      try { localStorage.setItem("wzc-keys", JSON.stringify(document)); } catch (e) { /* private mode */ }
      return document;
    }).catch(function () {
      try { return JSON.parse(localStorage.getItem("wzc-keys")); } catch (e) { return null; }
    }).then(WZCodes.importKeys).then(function (imported) {
      if (Object.keys(imported).length) keys = imported;
      var engine = WZCodes.engine(keys);
      document.body.dataset.ed25519 = engine;
      $("checks-status").hidden = engine !== "none";
      $("checks-status").textContent = engine === "none" ? T.offline_checks_unavailable : "";
    });
  }

  window.addEventListener("online", function () { showNetwork(); loadKeys(); syncClock().then(flush); });
  window.addEventListener("offline", showNetwork);
  $("queue-upload").addEventListener("click", function () { flush(); });
  setInterval(function () {
    if (navigator.onLine && Number(document.body.dataset.queued || "0") > 0) flush();
  }, FLUSH_EVERY_MS);
  setInterval(loadKeys, 10 * 60 * 1000);
  setInterval(function () { if (navigator.onLine) syncClock(); }, 5 * 60 * 1000);

  showNetwork();
  showClock();
  var registered = "serviceWorker" in navigator
    ? navigator.serviceWorker.register(config.urls.service_worker, { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).catch(noop)
    : Promise.resolve();
  Promise.all([loadKeys().catch(noop), syncClock(), refreshQueue(), registered]).then(function () {
    document.body.dataset.scannerReady = "1";
    flush();
  });
  startCamera();

  window.WZScanner = { flush: flush, handleCode: handleCode, refreshQueue: refreshQueue, serverNow: serverNow };
})();
