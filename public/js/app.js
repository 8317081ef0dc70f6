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

  // Focus the first field of a dialog or form that htmx just inserted.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var el = ev.detail && ev.detail.target;
    if (!el) return;
    var focus = el.querySelector("[role=dialog] input, #applicant-form input:not([type=hidden])");
    if (focus) focus.focus();
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
