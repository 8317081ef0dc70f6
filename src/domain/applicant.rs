//! Applicants: the status model of the manual (fig. 8) and parsing the add/edit form into a
//! valid applicant, with a message per field.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::iin::{Gender, Iin};
use super::kato::{normalize_search, Dictionaries};

/// The statuses of fig. 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// ○ Не проверен
    New,
    /// ✓ Прошел проверку в АИС "Рынок труда"
    Passed,
    /// ⊗ Не прошел проверку в АИС "Рынок труда" (with 📄 the reason)
    Failed,
    /// ⊗ Отказано мобильной группой (with 📄 the reason)
    Refused,
    /// 🔄 Изменен после отрицательной проверки
    Changed,
}

impl Status {
    pub fn parse(s: &str) -> Status {
        match s {
            "passed" => Status::Passed,
            "failed" => Status::Failed,
            "refused" => Status::Refused,
            "changed" => Status::Changed,
            _ => Status::New,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Refused => "refused",
            Status::Changed => "changed",
        }
    }
    pub fn icon(self) -> &'static str {
        match self {
            Status::New => "○",
            Status::Passed => "✓",
            Status::Failed | Status::Refused => "⊗",
            Status::Changed => "🔄",
        }
    }
    /// The legend's text, verbatim from fig. 8.
    pub fn label_ru(self) -> &'static str {
        match self {
            Status::New => "Не проверен",
            Status::Passed => "Прошел проверку в АИС \"Рынок труда\"",
            Status::Failed => "Не прошел проверку в АИС \"Рынок труда\"",
            Status::Refused => "Отказано мобильной группой",
            Status::Changed => "Изменен после отрицательной проверки",
        }
    }
}

/// What the rules allow for one applicant (manual §10–12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub edit: bool,
    pub delete: bool,
    pub refuse: bool,
}

/// `sent`: the applicant was ever sent to АИС; `list_returned`: its list came back from АИС.
pub fn allowed(status: Status, sent: bool, list_returned: bool, can_write: bool) -> Allowed {
    if !can_write {
        return Allowed {
            edit: false,
            delete: false,
            refuse: false,
        };
    }
    let after_failed_check =
        list_returned && matches!(status, Status::Failed | Status::Changed | Status::Refused);
    Allowed {
        edit: !sent || after_failed_check,
        delete: !sent,
        refuse: after_failed_check,
    }
}

/// The raw form, as typed. Kept whole so a refused form can be shown again unchanged.
/// A field the form does not have is refused (400), never silently dropped.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicantForm {
    pub iin: String,
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    /// dd.mm.yyyy as the manual shows it, or yyyy-mm-dd from a date input.
    pub birth_date: String,
    pub gender: String,
    pub kato: String,
    pub street: String,
    pub house: String,
    pub flat: String,
    pub applicant_category: String,
    pub employment_category: String,
    /// «Отказано мобильной группой» (edit form only).
    pub mg_refused: String,
    pub mg_reason: String,
    /// The version the user edited (edit form only).
    pub version: String,
    /// The idempotency key minted when the form was opened.
    pub idem_key: String,
    pub csrf_token: String,
}

/// A valid applicant, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidApplicant {
    pub iin: Iin,
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    pub birth_date: NaiveDate,
    pub gender: Gender,
    pub kato: String,
    pub street: String,
    pub house: String,
    pub flat: String,
    pub applicant_category: String,
    pub employment_category: String,
    pub mg_refused: bool,
    pub mg_reason: String,
}

impl ValidApplicant {
    pub fn fio(&self) -> String {
        fio(&self.last_name, &self.first_name, &self.middle_name)
    }
    pub fn fio_search(&self) -> String {
        normalize_search(&self.fio())
    }
}

pub fn fio(last: &str, first: &str, middle: &str) -> String {
    [last, first, middle]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

pub type FieldErrors = BTreeMap<&'static str, String>;

pub const NAME_MAX: usize = 60;
pub const ADDRESS_MAX: usize = 120;
pub const HOUSE_MAX: usize = 20;
pub const REASON_MAX: usize = 500;

/// Letters of Russian and Kazakh Cyrillic, Latin, hyphen, apostrophe and space.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphabetic()
        || ('\u{0410}'..='\u{044F}').contains(&c)
        || "ЁёӘәҒғҚқҢңӨөҰұҮүҺһІі-' ’".contains(c)
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn name(
    errors: &mut FieldErrors,
    field: &'static str,
    label: &str,
    value: &str,
    required: bool,
) -> String {
    let v = collapse(value);
    if v.is_empty() {
        if required {
            errors.insert(field, format!("Поле «{label}» обязательно для заполнения"));
        }
        return v;
    }
    if v.chars().count() > NAME_MAX {
        errors.insert(
            field,
            format!("Поле «{label}» не может быть длиннее {NAME_MAX} символов"),
        );
    } else if !v.chars().all(is_name_char) || !v.chars().any(char::is_alphabetic) {
        errors.insert(
            field,
            format!("Поле «{label}» может содержать только буквы, дефис, апостроф и пробел"),
        );
    }
    v
}

fn text(
    errors: &mut FieldErrors,
    field: &'static str,
    label: &str,
    value: &str,
    required: bool,
    max: usize,
) -> String {
    let v = collapse(value);
    if v.is_empty() && required {
        errors.insert(field, format!("Поле «{label}» обязательно для заполнения"));
    } else if v.chars().count() > max {
        errors.insert(
            field,
            format!("Поле «{label}» не может быть длиннее {max} символов"),
        );
    } else if v.chars().any(|c| c.is_control()) {
        errors.insert(
            field,
            format!("Поле «{label}» содержит недопустимые символы"),
        );
    }
    v
}

pub const IIN_IN_FUTURE: &str = "Дата рождения в ИИН не может быть позже сегодняшнего дня";

/// Today in Kazakhstan (the portal's users are all there).
fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .date_naive()
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%d.%m.%Y")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
}

impl ApplicantForm {
    /// Parses the form for a user of region `region`. Every problem is reported at its field.
    pub fn parse(
        &self,
        dict: &Dictionaries,
        region: &str,
        editing: bool,
    ) -> Result<ValidApplicant, FieldErrors> {
        let mut e = FieldErrors::new();
        let iin = match Iin::parse(&self.iin) {
            // A birth date still to come is not a real date of birth.
            Ok(i) if i.birth_date() > today() => {
                e.insert("iin", IIN_IN_FUTURE.to_string());
                None
            }
            Ok(i) => Some(i),
            Err(err) => {
                e.insert("iin", err.message().to_string());
                None
            }
        };
        let last_name = name(&mut e, "last_name", "Фамилия", &self.last_name, false);
        let first_name = name(&mut e, "first_name", "Имя", &self.first_name, true);
        let middle_name = name(&mut e, "middle_name", "Отчество", &self.middle_name, false);

        let birth_date = if self.birth_date.trim().is_empty() {
            e.insert(
                "birth_date",
                "Поле «Дата рождения» обязательно для заполнения".into(),
            );
            None
        } else {
            match parse_date(&self.birth_date) {
                Some(d) => Some(d),
                None => {
                    e.insert(
                        "birth_date",
                        "Укажите дату рождения в виде ДД.ММ.ГГГГ".into(),
                    );
                    None
                }
            }
        };
        let gender = match Gender::parse(self.gender.trim()) {
            Some(g) => Some(g),
            None => {
                e.insert("gender", "Поле «Пол» обязательно для заполнения".into());
                None
            }
        };
        // The IIN encodes the birth date and gender: a form that disagrees with it is refused.
        if let Some(i) = &iin {
            if let Some(d) = birth_date {
                if d != i.birth_date() {
                    e.insert("birth_date", "Дата рождения не совпадает с ИИН".into());
                }
            }
            if let Some(g) = gender {
                if g != i.gender() {
                    e.insert("gender", "Пол не совпадает с ИИН".into());
                }
            }
        }

        let kato = self.kato.trim().to_string();
        if kato.is_empty() {
            e.insert(
                "kato",
                "Поле «Город/район проживания» обязательно для заполнения".into(),
            );
        } else if dict.place(&kato).is_none() {
            e.insert("kato", "Выберите город/район из справочника".into());
        } else if !dict.in_region(region, &kato) {
            e.insert(
                "kato",
                "Можно выбрать только город/район вашего региона".into(),
            );
        }
        let street = text(
            &mut e,
            "street",
            "Название улицы",
            &self.street,
            true,
            ADDRESS_MAX,
        );
        let house = text(&mut e, "house", "Номер дома", &self.house, true, HOUSE_MAX);
        let flat = text(
            &mut e,
            "flat",
            "Номер квартиры",
            &self.flat,
            false,
            HOUSE_MAX,
        );

        let applicant_category = self.applicant_category.trim().to_string();
        if dict.category("applicant", &applicant_category).is_none() {
            e.insert(
                "applicant_category",
                "Поле «Категория претендента» обязательно для заполнения".into(),
            );
        }
        let employment_category = self.employment_category.trim().to_string();
        if dict.category("employment", &employment_category).is_none() {
            e.insert(
                "employment_category",
                "Поле «Категория занятости» обязательно для заполнения".into(),
            );
        }

        let mg_refused = editing && matches!(self.mg_refused.as_str(), "on" | "true" | "1");
        let mg_reason = if mg_refused {
            text(
                &mut e,
                "mg_reason",
                "Причина отказа мобильной группы",
                &self.mg_reason,
                true,
                REASON_MAX,
            )
        } else {
            String::new()
        };

        match (iin, birth_date, gender) {
            (Some(iin), Some(birth_date), Some(gender)) if e.is_empty() => Ok(ValidApplicant {
                iin,
                last_name,
                first_name,
                middle_name,
                birth_date,
                gender,
                kato,
                street,
                house,
                flat,
                applicant_category,
                employment_category,
                mg_refused,
                mg_reason,
            }),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kato::{Category, Place};

    fn dict() -> Dictionaries {
        let p = |code: &str, level: &str, prefix: &str, parent: Option<&str>| Place {
            code: code.into(),
            level: level.into(),
            prefix: prefix.into(),
            oblast: format!("{}0000000", &code[..2]),
            parent: parent.map(Into::into),
            name_ru: code.into(),
            name_kk: code.into(),
            search: code.into(),
        };
        let c = |kind: &str, code: &str| Category {
            kind: kind.into(),
            code: code.into(),
            name_ru: code.into(),
            name_kk: code.into(),
        };
        Dictionaries::new(
            vec![
                p("710000000", "oblast", "71", None),
                p("711310000", "sub_district", "711310", Some("710000000")),
                p("750000000", "oblast", "75", None),
            ],
            vec![c("applicant", "grad11"), c("employment", "unemployed")],
        )
    }

    fn form() -> ApplicantForm {
        ApplicantForm {
            iin: "920526450510".into(),
            last_name: "Жаншакимова".into(),
            first_name: "Айнур".into(),
            middle_name: "Мараловна".into(),
            birth_date: "26.05.1992".into(),
            gender: "female".into(),
            kato: "711310000".into(),
            street: "Сейфуллина".into(),
            house: "37".into(),
            flat: "256".into(),
            applicant_category: "grad11".into(),
            employment_category: "unemployed".into(),
            ..Default::default()
        }
    }

    mod decoding {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            /// Any bytes as a form body: decoding and parsing answer, never panic.
            #[test]
            fn any_body_is_decoded_or_refused_without_a_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
                if let Ok(f) = serde_urlencoded::from_bytes::<ApplicantForm>(&body) {
                    let _ = f.parse(&dict(), "710000000", false);
                    let _ = f.parse(&dict(), "711310000", true);
                }
                let _ = serde_json::from_slice::<ApplicantForm>(&body);
            }

            /// Any text in any field: parsing answers with the form or field errors.
            #[test]
            fn any_text_in_any_field_is_parsed_or_refused(
                field in 0usize..14,
                text in "\\PC{0,80}|[<>'\"%$;{}()=-]{0,40}",
            ) {
                let mut f = form();
                let slot = match field {
                    0 => &mut f.iin, 1 => &mut f.last_name, 2 => &mut f.first_name,
                    3 => &mut f.middle_name, 4 => &mut f.birth_date, 5 => &mut f.gender,
                    6 => &mut f.kato, 7 => &mut f.street, 8 => &mut f.house, 9 => &mut f.flat,
                    10 => &mut f.applicant_category, 11 => &mut f.employment_category,
                    12 => &mut f.mg_refused, _ => &mut f.mg_reason,
                };
                *slot = text;
                let _ = f.parse(&dict(), "710000000", true);
            }
        }

        #[test]
        fn an_unknown_field_is_refused() {
            assert!(serde_urlencoded::from_str::<ApplicantForm>("iin=1&role=admin").is_err());
            assert!(serde_urlencoded::from_str::<ApplicantForm>("iin=1&csrf_token=x").is_ok());
        }
    }

    #[test]
    fn the_manuals_example_is_valid() {
        let a = form().parse(&dict(), "710000000", false).unwrap();
        assert_eq!(a.fio(), "Жаншакимова Айнур Мараловна");
    }

    #[test]
    fn kazakh_letters_hyphens_and_apostrophes_are_names() {
        let mut f = form();
        f.last_name = "  Төлеген-Құдайберген  ".into();
        f.first_name = "Ғалымжан".into();
        f.middle_name = "O'Neil".into();
        let a = f.parse(&dict(), "710000000", false).unwrap();
        assert_eq!(a.last_name, "Төлеген-Құдайберген");
    }

    #[test]
    fn digits_and_markup_in_names_are_refused() {
        let mut f = form();
        f.first_name = "<script>".into();
        f.last_name = "Иванов2".into();
        let e = f.parse(&dict(), "710000000", false).unwrap_err();
        assert!(e.contains_key("first_name"));
        assert!(e.contains_key("last_name"));
    }

    #[test]
    fn a_birth_date_or_gender_that_disagrees_with_the_iin_is_refused() {
        let mut f = form();
        f.birth_date = "27.05.1992".into();
        f.gender = "male".into();
        let e = f.parse(&dict(), "710000000", false).unwrap_err();
        assert_eq!(e["birth_date"], "Дата рождения не совпадает с ИИН");
        assert_eq!(e["gender"], "Пол не совпадает с ИИН");
    }

    #[test]
    fn required_fields_are_reported_each_at_its_field() {
        let e = ApplicantForm::default()
            .parse(&dict(), "710000000", false)
            .unwrap_err();
        for f in [
            "iin",
            "first_name",
            "birth_date",
            "gender",
            "kato",
            "street",
            "house",
            "applicant_category",
            "employment_category",
        ] {
            assert!(e.contains_key(f), "{f}");
        }
        assert!(
            !e.contains_key("last_name")
                && !e.contains_key("middle_name")
                && !e.contains_key("flat")
        );
    }

    #[test]
    fn an_iin_whose_birth_date_is_still_to_come_is_refused() {
        let date = NaiveDate::from_ymd_opt(2099, 1, 1).unwrap();
        let iin = (0..10_000)
            .find_map(|s| crate::domain::iin::make_iin(date, Gender::Male, s))
            .unwrap();
        let mut f = form();
        f.iin = iin.as_str().into();
        f.birth_date = "01.01.2099".into();
        f.gender = "male".into();
        let e = f.parse(&dict(), "710000000", false).unwrap_err();
        assert_eq!(e["iin"], IIN_IN_FUTURE);
        assert!(!e.contains_key("birth_date") && !e.contains_key("gender"));
    }

    #[test]
    fn a_place_outside_the_users_region_is_refused() {
        let mut f = form();
        f.kato = "750000000".into();
        let e = f.parse(&dict(), "710000000", false).unwrap_err();
        assert!(e["kato"].contains("вашего региона"));
    }

    #[test]
    fn a_refusal_needs_a_reason() {
        let mut f = form();
        f.mg_refused = "on".into();
        let e = f.parse(&dict(), "710000000", true).unwrap_err();
        assert!(e.contains_key("mg_reason"));
        f.mg_reason = "Некорректные данные".into();
        assert!(f.parse(&dict(), "710000000", true).unwrap().mg_refused);
    }

    #[test]
    fn actions_follow_the_manuals_rules() {
        let a = allowed(Status::New, false, false, true);
        assert!(a.edit && a.delete && !a.refuse);
        let a = allowed(Status::New, true, false, true);
        assert!(!a.edit && !a.delete);
        let a = allowed(Status::Failed, true, true, true);
        assert!(a.edit && !a.delete && a.refuse);
        let a = allowed(Status::Passed, true, true, true);
        assert!(!a.edit && !a.delete && !a.refuse);
        let a = allowed(Status::New, false, false, false);
        assert!(!a.edit && !a.delete);
    }
}
