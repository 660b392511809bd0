// The scanner's QR decoder where the browser has no native BarcodeDetector: the vendored jsQR
// (static/vendor/jsqr), in a Web Worker so a frame's decode (tens of milliseconds on a cheap
// phone) never holds up the page. scanner.js sends {type: "load", url} once (the library's
// hashed address, which the service worker keeps for offline use), then one frame at a time:
// {type: "frame", width, height, data: ArrayBuffer of RGBA} → {type: "frame", text or null}.
"use strict";
/* global jsQR */

self.onmessage = function (event) {
  var message = event.data || {};
  if (message.type === "load") {
    try {
      importScripts(message.url);
      self.postMessage({ type: "loaded", ok: typeof jsQR === "function" });
    } catch (e) {
      self.postMessage({ type: "loaded", ok: false });
    }
    return;
  }
  if (message.type === "frame") {
    var text = null;
    try {
      // Passes are dark on light, on paper or on a screen: the inverted attempt would double
      // the work for codes we never see.
      var found = jsQR(new Uint8ClampedArray(message.data), message.width, message.height,
        { inversionAttempts: "dontInvert" });
      if (found && found.data) text = found.data;
    } catch (e) { /* an unreadable frame: the next one is tried */ }
    self.postMessage({ type: "frame", text: text });
  }
};
