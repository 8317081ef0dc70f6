// Request storage: the queue of applicant entries made offline, in IndexedDB.
// Shared by the page and the service worker. An entry belongs to the account that made it
// (`owner`); nothing here ever deletes an entry except an explicit remove() after the server
// has confirmed it, or the user's own «Удалить».
(function (global) {
  "use strict";
  var DB_NAME = "talapker";
  var STORE = "entries";

  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains(STORE)) {
          var s = db.createObjectStore(STORE, { keyPath: "key" });
          s.createIndex("owner", "owner");
        }
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result;
        Promise.resolve(fn(t.objectStore(STORE), function (r) { result = r; })).catch(reject);
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = function () { db.close(); reject(t.error); };
        t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }

  function put(entry) {
    return tx("readwrite", function (s) { s.put(entry); });
  }

  function get(key) {
    return tx("readonly", function (s, done) {
      var r = s.get(key);
      r.onsuccess = function () { done(r.result || null); };
    });
  }

  // The owner's entries, oldest first.
  function list(owner) {
    return tx("readonly", function (s, done) {
      var r = s.index("owner").getAll(owner);
      r.onsuccess = function () {
        done((r.result || []).sort(function (a, b) { return a.createdAt - b.createdAt; }));
      };
    });
  }

  function remove(key) {
    return tx("readwrite", function (s) { s.delete(key); });
  }

  global.TalapkerStorage = { put: put, get: get, list: list, remove: remove };
})(typeof self !== "undefined" ? self : window);
