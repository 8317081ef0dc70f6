// Passkeys: registration on «Профиль» and «Войти с ключом доступа» on the sign-in page.
// The server sends WebAuthn options as JSON with binary fields in base64url; the browser API
// wants ArrayBuffers, and its answer goes back as JSON in base64url again.
(function () {
  "use strict";

  function b64urlToBuf(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }

  function bufToB64url(buf) {
    if (!buf) return null;
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    if (input) return input.value;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function Refusal(message) {
    this.message = message;
  }

  // POSTs JSON with the CSRF header; a refusal's {"error": "…"} becomes a Refusal.
  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": csrfToken(),
      },
      body: JSON.stringify(body || {}),
    }).then(function (resp) {
      return resp
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!resp.ok) throw new Refusal(data.error || "");
          return data;
        });
    });
  }

  function showError(box, message) {
    var slot = box.querySelector("#passkey-error");
    if (!slot) return;
    slot.innerHTML = "";
    if (!message) return;
    var div = document.createElement("div");
    div.className = "alert alert-error";
    div.setAttribute("role", "alert");
    div.textContent = message;
    slot.appendChild(div);
  }

  // What to tell the person when something failed: the server's message, else ours.
  function messageOf(box, err) {
    if (err instanceof Refusal && err.message) return err.message;
    if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) {
      return box.getAttribute("data-msg-cancelled");
    }
    if (err && err.name === "InvalidStateError" && box.hasAttribute("data-msg-duplicate")) {
      // The authenticator already holds a passkey of this account for this site.
      return box.getAttribute("data-msg-duplicate");
    }
    return box.getAttribute("data-msg-failed");
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && navigator.credentials.create);
  }

  // ---- Registration («Профиль») ----

  function creationOptions(publicKey) {
    publicKey.challenge = b64urlToBuf(publicKey.challenge);
    publicKey.user.id = b64urlToBuf(publicKey.user.id);
    (publicKey.excludeCredentials || []).forEach(function (c) {
      c.id = b64urlToBuf(c.id);
    });
    return publicKey;
  }

  function attestationJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: bufToB64url(r.attestationObject),
        clientDataJSON: bufToB64url(r.clientDataJSON),
        transports: typeof r.getTransports === "function" ? r.getTransports() : undefined,
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  function register(form, box, button) {
    var name = form.querySelector('[name="name"]').value;
    var password = form.querySelector('[name="password"]').value;
    var ceremony;
    button.disabled = true;
    showError(box, "");
    postJson("/profile/register/options", { name: name, password: password })
      .then(function (options) {
        ceremony = options.ceremony;
        return navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
      })
      .then(function (cred) {
        return postJson("/profile/register", {
          ceremony: ceremony,
          name: name,
          credential: attestationJson(cred),
        });
      })
      .then(function (done) {
        window.location.assign(done.redirect || "/profile");
      })
      .catch(function (err) {
        button.disabled = false;
        showError(box, messageOf(box, err));
      });
  }

  // ---- Sign-in (the sign-in page) ----

  function requestOptions(publicKey) {
    publicKey.challenge = b64urlToBuf(publicKey.challenge);
    (publicKey.allowCredentials || []).forEach(function (c) {
      c.id = b64urlToBuf(c.id);
    });
    return publicKey;
  }

  function assertionJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: bufToB64url(r.authenticatorData),
        clientDataJSON: bufToB64url(r.clientDataJSON),
        signature: bufToB64url(r.signature),
        userHandle: r.userHandle ? bufToB64url(r.userHandle) : null,
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  function signIn(box, button) {
    var ceremony;
    button.disabled = true;
    showError(box, "");
    postJson("/profile/sign-in/options", {})
      .then(function (options) {
        ceremony = options.ceremony;
        return navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
      })
      .then(function (cred) {
        return postJson("/profile/sign-in", { ceremony: ceremony, credential: assertionJson(cred) });
      })
      .then(function (done) {
        window.location.assign(done.redirect || "/cabinet/applicants");
      })
      .catch(function (err) {
        button.disabled = false;
        showError(box, messageOf(box, err));
      });
  }

  function init() {
    var form = document.querySelector("[data-passkey-register]");
    if (form) {
      var regBox = form.closest("#passkeys") || document.body;
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (!supported()) {
          showError(regBox, regBox.getAttribute("data-msg-unsupported"));
          return;
        }
        register(form, regBox, form.querySelector('button[type="submit"]'));
      });
    }

    // Deleting a passkey asks first.
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });

    var box = document.querySelector("[data-passkey-sign-in]");
    if (box && supported()) {
      var button = box.querySelector("[data-passkey-sign-in-button]");
      button.addEventListener("click", function () {
        signIn(box, button);
      });
      // Offered where the device itself can check a passkey (a tablet's fingerprint, face or
      // PIN): elsewhere the button would only open the browser's QR-code and security-key
      // dialog.
      var check = window.PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable;
      (typeof check === "function" ? check.call(window.PublicKeyCredential) : Promise.resolve(false))
        .then(function (available) {
          if (available) box.hidden = false;
        })
        .catch(function () {});
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
