// IIN rules in the page: the same rules as src/domain/iin.rs, checked against the same vectors
// (public/js/iin-vectors.json) by the Rust unit tests and the Playwright suite.
(function (global) {
  "use strict";
  var W1 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  var W2 = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
  var MESSAGES = {
    Empty: "Поле «ИИН» обязательно для заполнения",
    NotTwelveDigits: "ИИН должен состоять из 12 цифр",
    BadCenturyDigit: "Седьмая цифра ИИН должна быть от 1 до 6",
    BadDate: "Первые шесть цифр ИИН должны быть датой рождения",
    BadCheckDigit: "Неверная контрольная цифра ИИН",
    NeverIssued: "Такой ИИН не выдаётся"
  };
  function sum(d, w) {
    var s = 0;
    for (var i = 0; i < 11; i++) s += d[i] * w[i];
    return s % 11;
  }
  function birthDate(d) {
    var century = { 1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000 }[d[6]];
    if (!century) return null;
    var y = century + d[0] * 10 + d[1], m = d[2] * 10 + d[3], day = d[4] * 10 + d[5];
    var dt = new Date(Date.UTC(y, m - 1, day));
    if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== day) return null;
    return { year: y, month: m, day: day };
  }
  // Returns {ok: true, birth: {year, month, day}, gender: "male"|"female"} or {ok: false, error, message}.
  function parse(input) {
    var s = String(input == null ? "" : input).trim();
    var fail = function (e) { return { ok: false, error: e, message: MESSAGES[e] }; };
    if (!s) return fail("Empty");
    if (!/^[0-9]{12}$/.test(s)) return fail("NotTwelveDigits");
    var d = s.split("").map(Number);
    if (d[6] < 1 || d[6] > 6) return fail("BadCenturyDigit");
    var birth = birthDate(d);
    if (!birth) return fail("BadDate");
    var c = sum(d, W1);
    if (c === 10) {
      c = sum(d, W2);
      if (c === 10) return fail("NeverIssued");
    }
    if (c !== d[11]) return fail("BadCheckDigit");
    return { ok: true, birth: birth, gender: d[6] % 2 === 1 ? "male" : "female" };
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function formatBirth(b) { return pad(b.day) + "." + pad(b.month) + "." + b.year; }
  global.TalapkerIin = { parse: parse, formatBirth: formatBirth, MESSAGES: MESSAGES };
})(typeof window !== "undefined" ? window : globalThis);
