// Small behaviours layered over server-rendered pages; everything works without them except
// the КАТО picker's choice and IIN auto-fill.
(function () {
  "use strict";

  function closest(el, sel) { return el && el.closest ? el.closest(sel) : null; }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    // КАТО picker: choose a place.
    var pick = closest(t, "[data-pick-code]");
    if (pick) {
      var form = document.querySelector("[data-applicant-form]");
      if (form) {
        form.querySelector("[data-kato-code]").value = pick.getAttribute("data-pick-code");
        form.querySelector("[data-kato-name]").value = pick.getAttribute("data-pick-name");
      }
      closeDialog();
      return;
    }
    if (closest(t, "[data-kato-clear]")) {
      var f = closest(t, "form");
      f.querySelector("[data-kato-code]").value = "";
      f.querySelector("[data-kato-name]").value = "";
      return;
    }
    // «Отмена» of a form opened in place closes it without leaving the page.
    var cancel = closest(t, "[data-cancel-form]");
    if (cancel) {
      var slot0 = document.getElementById("form-slot");
      if (slot0 && slot0.contains(cancel)) {
        ev.preventDefault();
        slot0.innerHTML = "";
        var add = document.querySelector("[data-add-applicant]");
        if (add) add.focus();
      }
      return;
    }
    // 📄: the reason of a refusal. A tablet has no hover, so a tap shows it next to the icon.
    var reason = closest(t, "button[data-reason]");
    if (reason) {
      var shown = reason.nextElementSibling;
      if (shown && shown.classList.contains("reason-text")) {
        shown.remove();
        reason.setAttribute("aria-expanded", "false");
      } else {
        var tip = document.createElement("span");
        tip.className = "reason-text";
        tip.setAttribute("role", "note");
        tip.textContent = reason.getAttribute("data-reason");
        reason.insertAdjacentElement("afterend", tip);
        reason.setAttribute("aria-expanded", "true");
      }
      return;
    }
    if (closest(t, "[data-close-dialog]")) {
      var slot = document.getElementById("dialog-slot");
      if (slot && slot.contains(t)) {
        ev.preventDefault();
        closeDialog();
      }
      return;
    }
    // Close open inline menus when clicking elsewhere.
    document.querySelectorAll("details.actions[open], details.usermenu[open]").forEach(function (d) {
      if (!d.contains(t)) d.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") {
      closeDialog();
      document.querySelectorAll("details[open]").forEach(function (d) { d.removeAttribute("open"); });
    }
  });

  function closeDialog() {
    var slot = document.getElementById("dialog-slot");
    if (slot) slot.innerHTML = "";
  }

  // A chosen menu entry closes its menu.
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var d = closest(ev.target, "details.actions");
    if (d) d.removeAttribute("open");
  });

  // Focus the first field of a dialog or form that htmx just inserted; after a refused save,
  // the first field in error (its message is tied to it by aria-describedby).
  document.addEventListener("htmx:afterSwap", function (ev) {
    var el = ev.detail && ev.detail.target;
    if (!el) return;
    var status = ev.detail.xhr ? ev.detail.xhr.status : 200;
    if (status === 409 || status === 422) {
      var form = document.getElementById("applicant-form");
      var bad = form && (form.querySelector("[aria-invalid=true]") || form.querySelector("[role=alert]"));
      if (bad) {
        if (!bad.matches("input, select, textarea")) bad.setAttribute("tabindex", "-1");
        bad.focus();
        return;
      }
    }
    var focus = el.querySelector("[role=dialog] input:not([type=hidden])") ||
      el.querySelector("[role=dialog] [data-close-dialog]") ||
      el.querySelector("#applicant-form input:not([type=hidden])");
    if (focus) focus.focus();
  });

  // A refusal the server answers to an htmx request (403, 404, 413…) is shown, not swallowed:
  // its page carries the message in a role=alert element.
  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail && ev.detail.xhr;
    if (!xhr) return;
    var text = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var alert = doc.querySelector("[role=alert]");
      text = alert ? alert.textContent.trim() : "";
    } catch (e) { text = ""; }
    if (!text) text = (document.documentElement.lang === "kk" ? "Қате " : "Ошибка ") + xhr.status;
    closeDialog();
    var box = document.createElement("div");
    box.className = "alert alert-error";
    box.setAttribute("role", "alert");
    box.textContent = text;
    var flash = document.getElementById("flash");
    if (flash) {
      flash.innerHTML = "";
      flash.appendChild(box);
    } else {
      var main = document.getElementById("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
  });

  // A network failure on an htmx request says so instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (!flash) return;
    flash.innerHTML = "";
    var box = document.createElement("div");
    box.className = "alert alert-error";
    box.setAttribute("role", "alert");
    box.textContent = document.documentElement.lang === "kk" ? "Байланыс жоқ" : "Нет подключения";
    flash.appendChild(box);
  });

  // Typing a valid IIN fills in the birth date and gender.
  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (!t.matches || !t.matches("[data-iin]")) return;
    var r = window.TalapkerIin && window.TalapkerIin.parse(t.value);
    if (!r || !r.ok) return;
    var form = closest(t, "form");
    var birth = form.querySelector("[data-birth]");
    var gender = form.querySelector("[data-gender]");
    if (birth) birth.value = window.TalapkerIin.formatBirth(r.birth);
    if (gender) gender.value = r.gender;
  });
})();

// A birth date or gender set against a valid IIN is said at once, next to its field; the
// server refuses such a form anyway.
(function () {
  "use strict";
  function say(input, text) {
    var holder = input.closest(".field");
    if (!holder) return;
    var p = holder.querySelector(".field-error[data-live]");
    if (!text) {
      if (p) p.remove();
      return;
    }
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("data-live", "");
      p.setAttribute("role", "alert");
      holder.appendChild(p);
    }
    p.textContent = text;
  }
  function check(form) {
    var iin = form.querySelector("[data-iin]"), birth = form.querySelector("[data-birth]"), gender = form.querySelector("[data-gender]");
    if (!iin || !birth || !gender || !window.TalapkerIin) return;
    var r = window.TalapkerIin.parse(iin.value);
    if (!r.ok) { say(birth, ""); say(gender, ""); return; }
    var b = birth.value.trim();
    // Only a complete date is compared, so typing does not flash the message.
    say(birth, b.length === 10 && b !== window.TalapkerIin.formatBirth(r.birth) ? (birth.getAttribute("data-mismatch") || "Дата рождения не совпадает с ИИН") : "");
    say(gender, gender.value && gender.value !== r.gender ? (gender.getAttribute("data-mismatch") || "Пол не совпадает с ИИН") : "");
  }
  // On input as well as change: the message is in place before the user reaches «Сохранить»,
  // so nothing moves under the pointer when the field loses focus.
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (ev) {
      var t = ev.target;
      if (t.matches && t.matches("[data-birth], [data-gender], [data-iin]")) {
        var form = t.closest("form");
        if (form) check(form);
      }
    });
  });
})();
