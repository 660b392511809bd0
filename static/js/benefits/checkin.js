// Landmark check-in: scan the poster's QR with the phone camera where the browser has a native
// BarcodeDetector; otherwise the form takes a pasted link or code. No inline script (strict CSP).
(function () {
  "use strict";
  var start = document.getElementById("camera-start");
  var box = document.getElementById("camera-box");
  var video = document.getElementById("camera");
  var status = document.getElementById("camera-status");
  var form = document.getElementById("checkin-form");
  var input = form && form.querySelector("input[name=code]");
  if (!start || !box || !video || !form || !input) { return; }
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  start.hidden = false;

  var stream = null;
  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
  }

  start.addEventListener("click", function () {
    var detector;
    try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      box.hidden = false;
      start.hidden = true;
      return video.play();
    }).then(function () {
      function tick() {
        if (!stream) { return; }
        detector.detect(video).then(function (codes) {
          if (codes.length && codes[0].rawValue) {
            input.value = codes[0].rawValue;
            stop();
            form.submit();
          } else {
            window.requestAnimationFrame(tick);
          }
        }).catch(function () { window.requestAnimationFrame(tick); });
      }
      tick();
    }).catch(function () {
      if (status) { status.textContent = start.getAttribute("data-denied") || ""; }
      box.hidden = false;
    });
  });
  window.addEventListener("pagehide", stop);
})();
