// The scanner's outbox: every scan is written here (IndexedDB) under its scan_id before it is
// sent, and removed only when the server has answered. A scan survives a dropped signal, a
// closed tab, a flat battery or an expired session; re-sending it is safe because the server is
// idempotent by scan_id.
//
// Phones are shared between gatekeepers, so each record belongs to the account that scanned it
// (`owner`, an opaque account number) and its contents — the code, the health checks, the
// device's answer — are sealed with AES-GCM under that account's outbox key, which the server
// derives for the logged-in account and the page holds only while that account is logged in.
// Another account on the same phone sees that records wait, never what they hold, and cannot
// upload them as its own. The owner and the scan_id are bound to the sealed data (the AES-GCM
// additional data), so a record cannot be moved to another account.
var WZOutbox = (function () {
  "use strict";
  var DB_NAME = "wzcheckin-scanner", STORE = "outbox", dbPromise = null;

  function open() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "scan_id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
    return dbPromise;
  }

  function run(mode, action) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), store = tx.objectStore(STORE), result;
        var request = action(store);
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function utf8(text) {
    if (window.TextEncoder) return new TextEncoder().encode(text);
    var bytes = unescape(encodeURIComponent(text)), out = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) out[i] = bytes.charCodeAt(i);
    return out;
  }

  function fromUtf8(buffer) {
    if (window.TextDecoder) return new TextDecoder().decode(buffer);
    return decodeURIComponent(escape(String.fromCharCode.apply(null, new Uint8Array(buffer))));
  }

  function base64UrlDecode(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function ownerOf(record) {
    // Records written before sealing (the page's first version) carried staff_id in the clear.
    return record.owner !== undefined ? record.owner : record.staff_id;
  }

  function additionalData(owner, scanId) { return utf8("wzc-outbox-v1|" + owner + "|" + scanId); }

  // The account's AES-GCM key from its base64url form, or null where WebCrypto is missing
  // (only outside HTTPS, where the scanner's service worker and camera do not run either).
  function importKey(encoded) {
    if (!encoded || !window.crypto || !crypto.subtle) return Promise.resolve(null);
    return crypto.subtle.importKey("raw", base64UrlDecode(encoded), { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
      .catch(function () { return null; });
  }

  // The record to store for `item`, made by `owner`.
  function seal(item, owner, key) {
    var record = { scan_id: item.scan_id, owner: owner, created: item.created };
    if (!key) { record.plain = item; return Promise.resolve(record); }
    var iv = crypto.getRandomValues(new Uint8Array(12));
    return crypto.subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: additionalData(owner, item.scan_id) },
      key, utf8(JSON.stringify(item))).then(function (sealed) {
      record.iv = iv;
      record.sealed = sealed;
      return record;
    });
  }

  // The item inside `record`; rejects when `key` is not its owner's.
  function unseal(record, key) {
    if (!record.sealed) return Promise.resolve(record.plain || record);
    if (!key) return Promise.reject(new Error("no key"));
    return crypto.subtle.decrypt({ name: "AES-GCM", iv: record.iv, additionalData: additionalData(ownerOf(record), record.scan_id) },
      key, record.sealed).then(function (plain) { return JSON.parse(fromUtf8(plain)); });
  }

  function all() {
    return run("readonly", function (store) { return store.getAll(); }).then(function (records) {
      return (records || []).sort(function (a, b) { return a.created - b.created; });
    });
  }

  return {
    importKey: importKey,
    ownerOf: ownerOf,
    // Seal and store an item for its owner.
    put: function (item, owner, key) {
      return seal(item, owner, key).then(function (record) {
        return run("readwrite", function (store) { return store.put(record); });
      });
    },
    remove: function (scanId) { return run("readwrite", function (store) { return store.delete(scanId); }); },
    // {mine: [items, oldest first], others: count of records of other accounts}. Records of
    // `owner` that its key cannot open (a key changed on the server) are counted in `unreadable`.
    forOwner: function (owner, key) {
      return all().then(function (records) {
        var others = 0, unreadable = 0;
        var mine = records.filter(function (record) {
          if (ownerOf(record) === owner) return true;
          others += 1;
          return false;
        });
        return Promise.all(mine.map(function (record) {
          return unseal(record, key).catch(function () { unreadable += 1; return null; });
        })).then(function (items) {
          return { mine: items.filter(function (item) { return item; }), others: others, unreadable: unreadable };
        });
      });
    },
    count: function () { return all().then(function (records) { return records.length; }); }
  };
})();
