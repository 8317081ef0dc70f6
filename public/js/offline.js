// Offline field work in the page: registers the service worker, saves the add-applicant form
// on the device when there is no network, shows the waiting entries' badge and the «Нет
// подключения» banner, and replays the queue when the network comes back.
(function () {
  "use strict";
  var S = window.TalapkerStorage, Q = window.TalapkerQueue;
  var SAVED = "Сохранено на устройстве, будет отправлено при подключении";

  function owner() { return document.body.getAttribute("data-user") || ""; }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, function (x) { return x.toString(16).padStart(2, "0"); }).join("");
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
    navigator.serviceWorker.addEventListener("message", function (ev) {
      if (ev.data && ev.data.type === "replayed") afterReplay(ev.data.result);
    });
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});

  function banner() {
    var b = document.getElementById("offline-banner");
    if (b) b.hidden = navigator.onLine;
  }

  function badge() {
    var el = document.querySelector("[data-pending-badge]");
    if (!el || !owner()) return Promise.resolve(0);
    return S.list(owner()).then(function (entries) {
      var n = entries.length;
      el.hidden = n === 0;
      var c = el.querySelector("[data-pending-count]");
      if (c) c.textContent = String(n);
      el.classList.toggle("badge-warn", entries.some(function (e) { return e.state === "needs_fix"; }));
      return n;
    }).catch(function () { return 0; });
  }
  window.TalapkerBadge = badge;

  function flash(message, kind) {
    var f = document.getElementById("flash");
    if (!f) {
      f = document.createElement("div");
      f.id = "flash";
      var form = document.getElementById("applicant-form");
      (form ? form.parentNode : document.querySelector("main")).insertBefore(f, form || null);
    }
    f.innerHTML = "";
    var d = document.createElement("div");
    d.className = "alert " + (kind === "error" ? "alert-error" : "alert-success");
    d.setAttribute("role", "status");
    d.textContent = message;
    f.appendChild(d);
  }

  function formFields(form) {
    var o = {};
    new FormData(form).forEach(function (v, k) { if (k !== "csrf_token") o[k] = String(v); });
    return o;
  }

  function showErrors(form, errors) {
    form.querySelectorAll(".field-error[data-local]").forEach(function (p) { p.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
    Object.keys(errors).forEach(function (field) {
      var input = form.querySelector("[name=" + field + "]");
      if (!input) return;
      var visible = input.type === "hidden" ? form.querySelector("[data-kato-name]") : input;
      var p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("data-local", "");
      p.id = field + "-error";
      p.textContent = errors[field];
      visible.setAttribute("aria-invalid", "true");
      visible.setAttribute("aria-describedby", p.id);
      var holder = visible.closest(".field") || visible.parentNode;
      holder.appendChild(p);
    });
  }

  // «Сохранить» with no network: validate with the server's rules, keep on the device.
  function saveOnDevice(form) {
    var fields = formFields(form);
    var errors = window.TalapkerValidate.validate(fields);
    showErrors(form, errors);
    if (Object.keys(errors).length) return Promise.resolve(false);
    var key = fields.idem_key || uuid();
    var kname = form.querySelector("[data-kato-name]");
    var entry = { key: key, owner: owner(), createdAt: Date.now(), form: fields, placeName: kname ? kname.value : "", state: "pending", message: "" };
    return S.get(key).then(function (old) {
      if (old) entry.createdAt = old.createdAt;
      return S.put(entry);
    }).then(function () {
      flash(SAVED);
      form.reset();
      form.querySelectorAll("input[type=hidden][name=kato], [data-kato-name]").forEach(function (i) { i.value = ""; });
      var k = form.querySelector("[name=idem_key]");
      if (k) k.value = uuid();
      form.removeAttribute("data-pending-key");
      if (navigator.serviceWorker && navigator.serviceWorker.ready) {
        navigator.serviceWorker.ready.then(function (reg) { if (reg.sync) return reg.sync.register("talapker-replay"); }).catch(function () {});
      }
      return badge().then(function () { return true; });
    });
  }

  // The queue update started when a corrected entry is sent online (see below).
  var correcting = null;

  function isAddForm(form) { return form && form.matches && form.matches("[data-applicant-form][data-mode=add]"); }

  // Before htmx sees the submit: offline, the entry goes to the device.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!isAddForm(form)) return;
    if (!navigator.onLine) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      saveOnDevice(form);
      return;
    }
    // A corrected entry sent online: put it back in the queue as pending first, so that
    // whatever happens to this request the next replay settles it (the server answers a
    // repeat of the same key with the saved applicant).
    var key = form.getAttribute("data-pending-key");
    if (key) {
      correcting = S.get(key).then(function (e) {
        if (!e) return;
        e.form = formFields(form);
        e.state = "pending";
        e.message = "";
        return S.put(e);
      }).catch(function () {});
    }
  }, true);

  // «Online» but the request never reached the server: keep the entry all the same.
  document.addEventListener("htmx:sendError", function (ev) {
    var form = ev.detail && ev.detail.elt;
    if (isAddForm(form)) saveOnDevice(form);
  });

  // A queued entry opened for correction and now saved online: the queue no longer needs it.
  // htmx would follow HX-Redirect at once, and leaving the page drops IndexedDB writes still
  // in flight (the entry then stayed behind as «Требует исправления» for good): the redirect
  // waits until the update made at submit and this removal are done.
  document.addEventListener("htmx:beforeOnLoad", function (ev) {
    var form = ev.detail && ev.detail.elt;
    var key = isAddForm(form) && form.getAttribute("data-pending-key");
    var xhr = ev.detail && ev.detail.xhr;
    if (!key || !xhr || xhr.status !== 200) return;
    var to = xhr.getResponseHeader("HX-Redirect");
    if (to) ev.preventDefault();
    Promise.resolve(correcting)
      .then(function () { return S.remove(key); })
      .then(badge)
      .catch(function () {})
      .then(function () { if (to) location.href = to; });
  });

  // Logging out with entries waiting warns first; the entries stay on the device.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[action='/logout']") || form.hasAttribute("data-confirmed")) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    badge().then(function (n) {
      if (n > 0 && !window.confirm("Есть записи, ожидающие отправки: " + n + ". Они останутся на этом устройстве и будут отправлены, когда вы снова войдете под своей учетной записью. Выйти?")) return;
      var done = function () { form.setAttribute("data-confirmed", ""); form.submit(); };
      // Pages cached for this account are not for the next one.
      (window.caches ? caches.delete("talapker-pages") : Promise.resolve()).then(done, done);
    });
  }, true);

  function afterReplay(result) {
    badge();
    if (result && result.sent > 0 && document.getElementById("applicant-table") && window.htmx) {
      window.htmx.ajax("GET", location.pathname + location.search, { target: "#applicant-table", swap: "outerHTML", headers: { "HX-Target": "applicant-table" } });
    }
    document.dispatchEvent(new CustomEvent("talapker:replayed", { detail: result }));
  }

  function replay() {
    if (!owner() || !navigator.onLine) return Promise.resolve();
    return Q.replay().then(afterReplay);
  }
  window.TalapkerReplay = replay;

  window.addEventListener("online", function () { banner(); replay(); });
  // «Online» events are not reliable on every device: while entries wait, try again now and then,
  // and keep the badge true to what the device holds (the worker may have sent them).
  setInterval(function () {
    badge().then(function (n) { if (n > 0) replay(); });
  }, 5000);
  window.addEventListener("offline", banner);

  // Open a waiting entry in the form for correction (/cabinet/applicants/new?pending=KEY).
  function fillFromPending() {
    var m = /[?&]pending=([^&]+)/.exec(location.search);
    var form = document.querySelector("[data-applicant-form][data-mode=add]");
    if (!m || !form) return;
    S.get(decodeURIComponent(m[1])).then(function (e) {
      if (!e || e.owner !== owner()) return;
      Object.keys(e.form).forEach(function (k) {
        var input = form.querySelector("[name=" + k + "]");
        if (input && k !== "csrf_token") input.value = e.form[k];
      });
      var kname = form.querySelector("[data-kato-name]");
      if (kname) kname.value = e.placeName || "";
      form.querySelector("[name=idem_key]").value = e.key;
      form.setAttribute("data-pending-key", e.key);
      if (e.state === "needs_fix") {
        flash("Требует исправления: " + e.message, "error");
        showErrors(form, e.errors || {});
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    banner();
    badge();
    fillFromPending();
    replay();
  });
})();
