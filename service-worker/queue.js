// Queue policy: replay the signed-in account's entries, oldest first, exactly once each.
// - 200/201 from the server: the entry is saved (or was saved before: same key) → removed;
// - 401: the session expired → the queue pauses until the user signs in again;
// - any other 4xx: refused → kept, marked «Требует исправления» with the server's message;
// - network error or 5xx: kept as it is, tried again later.
// The server stores each entry's key with the applicant in one transaction, so a replay of
// something already saved never makes a second applicant.
(function (global) {
  "use strict";
  var S = global.TalapkerStorage;
  var running = null;

  // A request that hangs (a half-open connection on a weak network) must not hold the queue:
  // each one gives up after a while and the entry simply waits for the next attempt.
  var TIMEOUT_MS = 10000;
  function timedFetch(url, opts) {
    var ctl = typeof AbortController !== "undefined" ? new AbortController() : null;
    var timer = ctl ? setTimeout(function () { ctl.abort(); }, TIMEOUT_MS) : null;
    return fetch(url, Object.assign({}, opts, ctl ? { signal: ctl.signal } : {})).finally(function () {
      if (timer) clearTimeout(timer);
    });
  }

  function session() {
    return timedFetch("/cabinet/sync/session", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) return null;
      if (!r.ok) throw new Error("session " + r.status);
      return r.json();
    });
  }

  function sendOne(entry, csrf) {
    var body = Object.assign({}, entry.form, { idem_key: entry.key });
    return timedFetch("/cabinet/sync/applicants", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }

  function replayNow() {
    var result = { sent: 0, refused: 0, paused: false, offline: false };
    return session().then(function (s) {
      if (!s) { result.paused = true; return result; }
      return S.list(s.login).then(function (entries) {
        var pending = entries.filter(function (e) { return e.state === "pending"; });
        var i = 0;
        function next() {
          if (i >= pending.length) return result;
          var e = pending[i++];
          return sendOne(e, s.csrf).then(function (r) {
            if (r.status === 200 || r.status === 201) {
              result.sent++;
              return S.remove(e.key).then(next);
            }
            if (r.status === 401) { result.paused = true; return result; }
            if (r.status >= 400 && r.status < 500) {
              result.refused++;
              e.state = "needs_fix";
              e.message = (r.body && r.body.message) || ("Ошибка " + r.status);
              e.errors = (r.body && r.body.errors) || {};
              return S.put(e).then(next);
            }
            return result; // 5xx: stop, keep everything, try later
          });
        }
        return next();
      });
    }).catch(function () { result.offline = true; return result; });
  }

  // One replay at a time per context; the page and the worker may overlap, which the
  // server's idempotency makes harmless.
  function replay() {
    if (!running) {
      running = replayNow().finally(function () { running = null; });
    }
    return running;
  }

  global.TalapkerQueue = { replay: replay };
})(typeof self !== "undefined" ? self : window);
