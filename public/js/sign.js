// «Подписать ЭЦП и отправить на проверку» (manual §9): signs the list's canonical payload in
// the page with the key file and password (neither leaves the device), or through NCALayer
// when it runs on this computer, and posts only the signature.
(function () {
  "use strict";

  var NCALAYER_URL = "wss://127.0.0.1:13579/";

  function csrf() {
    var input = document.querySelector('input[name="csrf_token"]');
    if (input) return input.value;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function msg(form, key) {
    return form.getAttribute("data-msg-" + key) || key;
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (el) {
      el.hidden = true;
      el.textContent = "";
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
  }

  function showError(form, where, text) {
    var el = form.querySelector('[data-error-for="' + where + '"]');
    el.textContent = text;
    el.hidden = false;
    var input = where === "key" ? form.querySelector("#sign-key") :
      where === "password" ? form.querySelector("#sign-password") : null;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  function busy(form, on) {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
    form.setAttribute("aria-busy", on ? "true" : "false");
    form.querySelector("[data-sign-progress]").textContent = on ? msg(form, "signing") : "";
  }

  async function fetchPayload(form) {
    var resp = await fetch(form.getAttribute("data-payload-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (!resp.ok) {
      var text = await resp.text();
      var m = /role="alert">([^<]*)</.exec(text);
      throw { server: m ? m[1] : msg(form, "failed") };
    }
    return {
      version: Number(resp.headers.get("X-List-Version")),
      bytes: new Uint8Array(await resp.arrayBuffer()),
    };
  }

  async function postSignature(form, version, cmsBase64) {
    var resp = await fetch(form.getAttribute("data-sign-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": csrf(),
      },
      body: JSON.stringify({ version: version, signature: cmsBase64 }),
    });
    var body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (resp.ok && body && body.ok) {
      window.location.assign(body.location);
      return;
    }
    throw { server: (body && body.error) || msg(form, "failed") + " (" + resp.status + ")" };
  }

  function base64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }

  async function signInPage(form) {
    clearErrors(form);
    var keyInput = form.querySelector("#sign-key");
    var password = form.querySelector("#sign-password");
    if (!keyInput.files || !keyInput.files.length) return showError(form, "key", msg(form, "no-file"));
    if (!password.value) return showError(form, "password", msg(form, "no-password"));
    busy(form, true);
    try {
      var keyBytes = new Uint8Array(await keyInput.files[0].arrayBuffer());
      var payload = await fetchPayload(form);
      var signed;
      try {
        signed = await window.TalapkerSigner.signWithP12(keyBytes, password.value, payload.bytes);
      } catch (e) {
        busy(form, false);
        if (e && e.code === "wrong_password") return showError(form, "password", msg(form, "wrong-password"));
        if (e && e.code === "unsupported") return showError(form, "key", msg(form, "unsupported"));
        return showError(form, "key", msg(form, "bad-key"));
      }
      if (signed.iin && signed.iin !== form.getAttribute("data-iin")) {
        busy(form, false);
        return showError(form, "key", msg(form, "not-owner"));
      }
      password.value = "";
      await postSignature(form, payload.version, signed.cmsBase64);
    } catch (e) {
      busy(form, false);
      showError(form, "form", (e && e.server) || msg(form, "failed"));
    }
  }

  // NCALayer (desktop): module kz.gov.pki.knca.basics, method sign, CMS with the data attached.
  function ncalayerSign(payloadBytes, iin) {
    return new Promise(function (resolve, reject) {
      var ws;
      try { ws = new WebSocket(NCALAYER_URL); } catch (e) { reject(e); return; }
      ws.onopen = function () {
        ws.send(JSON.stringify({
          module: "kz.gov.pki.knca.basics",
          method: "sign",
          args: {
            allowedStorages: ["PKCS12", "AKKaztokenStore", "AKKZIDCardStore", "AKEToken72KStore", "AKJaCartaStore"],
            format: "cms",
            data: base64(payloadBytes),
            signingParams: { decode: true, encapsulate: true, digested: false, tsaProfile: {} },
            signerParams: { extKeyUsageOids: [], iin: iin, chain: [] },
            locale: document.documentElement.lang === "kk" ? "kk" : "ru",
          },
        }));
      };
      ws.onmessage = function (ev) {
        var m;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.status === undefined) return; // the version greeting
        ws.close();
        if (m.status && m.body && m.body.result) {
          resolve(Array.isArray(m.body.result) ? m.body.result[0] : m.body.result);
        } else {
          reject(new Error(m.message || "NCALayer"));
        }
      };
      ws.onerror = function () { reject(new Error("NCALayer")); };
    });
  }

  async function signWithNcalayer(form) {
    clearErrors(form);
    busy(form, true);
    try {
      var payload = await fetchPayload(form);
      var cms;
      try {
        cms = await ncalayerSign(payload.bytes, form.getAttribute("data-iin"));
      } catch (e) {
        throw { server: msg(form, "ncalayer-failed") };
      }
      await postSignature(form, payload.version, String(cms).replace(/\s+/g, ""));
    } catch (e) {
      busy(form, false);
      showError(form, "form", (e && e.server) || msg(form, "failed"));
    }
  }

  // Offer NCALayer only when it answers on this computer.
  function probeNcalayer(form) {
    var button = form.querySelector("[data-ncalayer]");
    if (!button || !("WebSocket" in window)) return;
    var ws;
    try { ws = new WebSocket(NCALAYER_URL); } catch (e) { return; }
    var timer = setTimeout(function () { try { ws.close(); } catch (e) {} }, 1500);
    ws.onopen = function () {
      clearTimeout(timer);
      button.hidden = false;
      ws.close();
    };
    ws.onerror = function () { clearTimeout(timer); };
  }

  function init(root) {
    (root || document).querySelectorAll("form[data-sign-form]").forEach(function (form) {
      if (form.hasAttribute("data-ready")) return;
      form.setAttribute("data-ready", "");
      form.querySelectorAll("[data-needs-js]").forEach(function (b) { b.disabled = false; });
      probeNcalayer(form);
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-sign-form]")) return;
    ev.preventDefault();
    signInPage(form);
  });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-ncalayer]");
    if (!b) return;
    signWithNcalayer(b.closest("form[data-sign-form]"));
  });
  document.addEventListener("htmx:afterSwap", function (ev) { init(ev.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
