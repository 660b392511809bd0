// The scanner's outbox: every scan is written here (IndexedDB) under its scan_id before it is
// sent, and removed only when the server has answered. A scan survives a dropped signal, a
// closed tab or a flat battery; re-sending it is safe because the server is idempotent by
// scan_id.
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

  return {
    put: function (item) { return run("readwrite", function (store) { return store.put(item); }); },
    remove: function (scanId) { return run("readwrite", function (store) { return store.delete(scanId); }); },
    all: function () {
      return run("readonly", function (store) { return store.getAll(); }).then(function (items) {
        return (items || []).sort(function (a, b) { return a.created - b.created; });
      });
    }
  };
})();
