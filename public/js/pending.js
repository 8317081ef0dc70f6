// The «Ожидают отправки» panel: the signed-in account's entries on this device.
(function () {
  "use strict";
  var S = window.TalapkerStorage;

  function cell(tr, text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; }

  function render() {
    var body = document.getElementById("pending-rows");
    if (!body) return;
    var login = document.body.getAttribute("data-user") || "";
    S.list(login).then(function (entries) {
      body.innerHTML = "";
      document.getElementById("pending-empty").hidden = entries.length > 0;
      entries.forEach(function (e) {
        var f = e.form || {};
        var tr = document.createElement("tr");
        tr.setAttribute("data-key", e.key);
        cell(tr, [f.last_name, f.first_name, f.middle_name].filter(Boolean).join(" "));
        cell(tr, f.iin || "");
        cell(tr, new Date(e.createdAt).toLocaleString("ru-RU"));
        cell(tr, e.state === "needs_fix" ? "Требует исправления: " + (e.message || "") : "Ожидает отправки");
        var actions = cell(tr, "");
        var open = document.createElement("a");
        open.className = "btn";
        open.href = "/cabinet/applicants/new?pending=" + encodeURIComponent(e.key);
        open.textContent = "Открыть";
        actions.appendChild(open);
        var del = document.createElement("button");
        del.type = "button";
        del.className = "btn btn-danger";
        del.textContent = "Удалить";
        del.addEventListener("click", function () {
          if (!window.confirm("Удалить запись с устройства? Она не будет отправлена.")) return;
          S.remove(e.key).then(function () { render(); if (window.TalapkerBadge) window.TalapkerBadge(); });
        });
        actions.appendChild(del);
        body.appendChild(tr);
      });
    });
  }

  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-replay-now]") && window.TalapkerReplay) window.TalapkerReplay().then(render);
  });
  document.addEventListener("talapker:replayed", render);
  document.addEventListener("DOMContentLoaded", render);
})();
