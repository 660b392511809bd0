// Verifying signed codes on the device, so the scanner answers through a signal drop.
// Token layout (wzcheckin/codes/tokens.py, /api/v1/keys): base32 without padding, 138
// characters → 86 bytes: version u8 (2) | kind u8 | kid u32 | subject 8 B | issued u32 |
// expires u32 | Ed25519 signature 64 B over the first 22 bytes. Only the public keys are needed; revocation and
// single use are the server's to judge when the scan is uploaded.
var WZCodes = (function () {
  "use strict";
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  var TOKEN_LENGTH = 138, SIGNED_LENGTH = 22, TOKEN_BYTES = 86;

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

  // {kid: CryptoKey} from the /api/v1/keys document; {} where WebCrypto has no Ed25519.
  function importKeys(document) {
    if (!window.crypto || !crypto.subtle || !document || !document.keys) return Promise.resolve({});
    var keys = {};
    return Promise.all(document.keys.map(function (record) {
      return crypto.subtle.importKey("raw", base64UrlDecode(record.public_key), { name: "Ed25519" }, false, ["verify"])
        .then(function (key) { keys[record.kid] = key; })
        .catch(function () { /* no Ed25519 in this browser: offline answers stay "unknown" */ });
    })).then(function () { return keys; });
  }

  // → {status: "valid"|"invalid"|"unknown", reason, claims}. "unknown": this device cannot tell
  // (no key with that id yet, or no Ed25519): the server decides on upload.
  function verify(token, keys, nowMs) {
    var claims = parse(token);
    if (!claims) return Promise.resolve({ status: "invalid", reason: "invalid_token", claims: null });
    var key = keys[claims.kid];
    if (!key) return Promise.resolve({ status: "unknown", reason: "unknown_key", claims: claims });
    return crypto.subtle.verify({ name: "Ed25519" }, key, claims.signature, claims.signed).then(function (ok) {
      if (!ok) return { status: "invalid", reason: "invalid_token", claims: claims };
      if (nowMs / 1000 >= claims.expires) return { status: "invalid", reason: "expired", claims: claims };
      return { status: "valid", reason: null, claims: claims };
    }, function () {
      return { status: "unknown", reason: "unverifiable", claims: claims };
    });
  }

  return { parse: parse, importKeys: importKeys, verify: verify, base32Decode: base32Decode };
})();
