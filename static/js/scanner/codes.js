// Verifying signed codes on the device, so the scanner answers through a signal drop.
// Token layout (wzcheckin/codes/tokens.py, /api/v1/keys): base32 without padding, 138
// characters → 86 bytes: version u8 (2) | kind u8 | kid u32 | subject 8 B | issued u32 |
// expires u32 | Ed25519 signature 64 B over the first 22 bytes. Only the public keys are needed; revocation and
// single use are the server's to judge when the scan is uploaded.
//
// Browsers verify Ed25519 natively only from Chrome 137: elsewhere the vendored, audited
// @noble/ed25519 (static/vendor/noble-ed25519/ed25519.js, named by this script tag's
// data-fallback attribute) checks the signature, loaded the first time a key needs it.
var WZCodes = (function () {
  "use strict";
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  var TOKEN_LENGTH = 138, SIGNED_LENGTH = 22, TOKEN_BYTES = 86;
  var script = document.currentScript;
  var FALLBACK_URL = script ? script.getAttribute("data-fallback") : null;
  var fallbackPromise = null;

  // The vendored implementation (or null where it cannot run: no BigInt, no WebCrypto digest).
  function fallback() {
    if (fallbackPromise) return fallbackPromise;
    fallbackPromise = new Promise(function (resolve) {
      if (window.WZNobleEd25519 !== undefined) { resolve(window.WZNobleEd25519); return; }
      if (!FALLBACK_URL || !window.crypto || !crypto.subtle) { resolve(null); return; }
      var tag = document.createElement("script");
      tag.src = FALLBACK_URL;
      tag.onload = function () { resolve(window.WZNobleEd25519 || null); };
      tag.onerror = function () { fallbackPromise = null; resolve(null); };
      document.head.appendChild(tag);
    });
    return fallbackPromise;
  }

  function base32Decode(text) {
    var bits = 0, value = 0, out = [];
    for (var i = 0; i < text.length; i++) {
      var index = ALPHABET.indexOf(text.charAt(i));
      if (index < 0) return null;
      value = (value << 5) | index;
      bits += 5;
      if (bits >= 8) {
        out.push((value >>> (bits - 8)) & 0xff);
        bits -= 8;
      }
    }
    return new Uint8Array(out);
  }

  function base64UrlDecode(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // The claims of a token without checking the signature, or null when it is not one of ours.
  function parse(token) {
    if (typeof token !== "string") return null;
    var text = token.trim().toUpperCase();
    if (text.length !== TOKEN_LENGTH) return null;
    var raw = base32Decode(text);
    if (!raw || raw.length !== TOKEN_BYTES) return null;
    var view = new DataView(raw.buffer);
    if (view.getUint8(0) !== 2) return null;
    return {
      text: text,
      kind: view.getUint8(1),
      kid: view.getUint32(2),
      subject: hex(raw.subarray(6, 14)),
      issued: view.getUint32(14),
      expires: view.getUint32(18),
      signed: raw.slice(0, SIGNED_LENGTH),
      signature: raw.slice(SIGNED_LENGTH)
    };
  }

  // {kid: key} from the /api/v1/keys document: a native CryptoKey where WebCrypto has Ed25519,
  // else {raw: bytes} for the vendored implementation; {} where neither can run.
  function importKeys(document) {
    if (!document || !document.keys) return Promise.resolve({});
    var keys = {}, needFallback = false;
    var subtle = window.crypto && crypto.subtle;
    return Promise.all(document.keys.map(function (record) {
      var raw;
      try { raw = base64UrlDecode(record.public_key); } catch (e) { return null; }
      if (raw.length !== 32) return null;
      var native = subtle ? subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]) : Promise.reject();
      return native.then(function (key) { keys[record.kid] = key; }, function () {
        needFallback = true;
        keys[record.kid] = { raw: raw };
      });
    })).then(function () {
      if (!needFallback) return keys;
      return fallback().then(function (ed) {
        // Without native Ed25519 or the fallback, or for a key that is not a curve point,
        // offline answers stay "unknown".
        Object.keys(keys).forEach(function (kid) {
          if (!keys[kid].raw) return;
          try {
            if (!ed) throw new Error("no Ed25519");
            ed.Point.fromHex(keys[kid].raw);
          } catch (e) { delete keys[kid]; }
        });
        return keys;
      });
    });
  }

  function checkSignature(key, claims) {
    if (key.raw) {
      return fallback().then(function (ed) {
        if (!ed) throw new Error("no Ed25519");
        // A malformed signature (s out of range, R not a point) throws: that is a forgery too.
        // (The key was checked when imported; WebCrypto's SHA-512 is there, see fallback().)
        return Promise.resolve().then(function () {
          return ed.verify(claims.signature, claims.signed, key.raw);
        }).catch(function () { return false; });
      });
    }
    return crypto.subtle.verify({ name: "Ed25519" }, key, claims.signature, claims.signed);
  }

  // → {status: "valid"|"invalid"|"unknown", reason, claims}. "unknown": this device cannot tell
  // (no key with that id yet, or no Ed25519): the server decides on upload.
  function verify(token, keys, nowMs) {
    var claims = parse(token);
    if (!claims) return Promise.resolve({ status: "invalid", reason: "invalid_token", claims: null });
    var key = keys[claims.kid];
    if (!key) return Promise.resolve({ status: "unknown", reason: "unknown_key", claims: claims });
    return checkSignature(key, claims).then(function (ok) {
      if (!ok) return { status: "invalid", reason: "invalid_token", claims: claims };
      if (nowMs / 1000 >= claims.expires) return { status: "invalid", reason: "expired", claims: claims };
      // A pass signed ahead for later (static/js/pass/pass.js) proves nothing before its time,
      // less the server's allowed clock skew (programme.scan_clock_skew_seconds, 300 by default).
      if (nowMs / 1000 < claims.issued - 300) return { status: "invalid", reason: "scanned_at_outside_code", claims: claims };
      return { status: "valid", reason: null, claims: claims };
    }, function () {
      return { status: "unknown", reason: "unverifiable", claims: claims };
    });
  }

  // Which implementation checks signatures here: "native", "fallback" or "none".
  function engine(keys) {
    var values = Object.keys(keys).map(function (kid) { return keys[kid]; });
    if (!values.length) return "none";
    return values.some(function (key) { return !key.raw; }) ? "native" : "fallback";
  }

  return { parse: parse, importKeys: importKeys, verify: verify, engine: engine, base32Decode: base32Decode };
})();
