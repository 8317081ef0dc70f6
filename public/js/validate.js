// The add-applicant form's rules in the page, the same as src/domain/applicant.rs, with the
// same messages: used when an entry is saved on the device without the server.
(function (global) {
  "use strict";
  var NAME_MAX = 60, ADDRESS_MAX = 120, HOUSE_MAX = 20;
  var EXTRA = "ЁёӘәҒғҚқҢңӨөҰұҮүҺһІі-' ’";

  function collapse(s) { return String(s == null ? "" : s).split(/\s+/).filter(Boolean).join(" "); }
  function isNameChar(c) {
    var code = c.charCodeAt(0);
    return /[A-Za-z]/.test(c) || (code >= 0x410 && code <= 0x44f) || EXTRA.indexOf(c) >= 0;
  }
  function isLetter(c) { return c.toLowerCase() !== c.toUpperCase(); }
  function hasControl(s) { return /[\u0000-\u001f\u007f-\u009f]/.test(s); }

  function name(errors, field, label, value, required) {
    var v = collapse(value);
    if (!v) {
      if (required) errors[field] = "Поле «" + label + "» обязательно для заполнения";
      return v;
    }
    var chars = Array.from(v);
    if (chars.length > NAME_MAX) errors[field] = "Поле «" + label + "» не может быть длиннее " + NAME_MAX + " символов";
    else if (!chars.every(isNameChar) || !chars.some(isLetter)) errors[field] = "Поле «" + label + "» может содержать только буквы, дефис, апостроф и пробел";
    return v;
  }

  function text(errors, field, label, value, required, max) {
    var v = collapse(value);
    if (!v && required) errors[field] = "Поле «" + label + "» обязательно для заполнения";
    else if (Array.from(v).length > max) errors[field] = "Поле «" + label + "» не может быть длиннее " + max + " символов";
    else if (hasControl(v)) errors[field] = "Поле «" + label + "» содержит недопустимые символы";
    return v;
  }

  function parseDate(s) {
    s = String(s || "").trim();
    var m = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(s) || null;
    var y, mo, d;
    if (m) { d = +m[1]; mo = +m[2]; y = +m[3]; }
    else {
      m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
      if (!m) return null;
      y = +m[1]; mo = +m[2]; d = +m[3];
    }
    var dt = new Date(Date.UTC(y, mo - 1, d));
    if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
    return { year: y, month: mo, day: d };
  }

  // Returns {} when the entry is valid, else {field: message}.
  function validate(f) {
    var e = {};
    var iin = global.TalapkerIin.parse(f.iin);
    if (!iin.ok) e.iin = iin.message;
    name(e, "last_name", "Фамилия", f.last_name, false);
    name(e, "first_name", "Имя", f.first_name, true);
    name(e, "middle_name", "Отчество", f.middle_name, false);
    var birth = null;
    if (!String(f.birth_date || "").trim()) e.birth_date = "Поле «Дата рождения» обязательно для заполнения";
    else if (!(birth = parseDate(f.birth_date))) e.birth_date = "Укажите дату рождения в виде ДД.ММ.ГГГГ";
    var gender = String(f.gender || "").trim();
    if (gender !== "male" && gender !== "female") { e.gender = "Поле «Пол» обязательно для заполнения"; gender = null; }
    if (iin.ok) {
      if (birth && (birth.year !== iin.birth.year || birth.month !== iin.birth.month || birth.day !== iin.birth.day)) e.birth_date = "Дата рождения не совпадает с ИИН";
      if (gender && gender !== iin.gender) e.gender = "Пол не совпадает с ИИН";
    }
    if (!String(f.kato || "").trim()) e.kato = "Поле «Город/район проживания» обязательно для заполнения";
    text(e, "street", "Название улицы", f.street, true, ADDRESS_MAX);
    text(e, "house", "Номер дома", f.house, true, HOUSE_MAX);
    text(e, "flat", "Номер квартиры", f.flat, false, HOUSE_MAX);
    if (!String(f.applicant_category || "").trim()) e.applicant_category = "Поле «Категория претендента» обязательно для заполнения";
    if (!String(f.employment_category || "").trim()) e.employment_category = "Поле «Категория занятости» обязательно для заполнения";
    return e;
  }

  global.TalapkerValidate = { validate: validate };
})(window);
