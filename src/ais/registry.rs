//! The person registry of the АИС simulator (a stand-in for ГБД ФЛ, the state database of
//! individuals, and the employment records) and the programme rules checked against it.
//!
//! The registry is a CSV file: `iin,last_name,first_name,middle_name,birth_date,gender,employment`
//! with `birth_date` as YYYY-MM-DD and `employment` one of [`EMPLOYMENT_STATES`].

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::PayloadApplicant;
use crate::domain::iin::{make_iin, Gender};
use crate::domain::kato::normalize_search;

/// «ИИН не найден в ГБД ФЛ»
pub const NOT_FOUND: &str = "ИИН не найден в ГБД ФЛ";
/// «ФИО не совпадает с данными ГБД ФЛ»
pub const NAME_MISMATCH: &str = "ФИО не совпадает с данными ГБД ФЛ";
/// «Дата рождения не совпадает»
pub const BIRTH_DATE_MISMATCH: &str = "Дата рождения не совпадает";
/// «Претендент трудоустроен»
pub const EMPLOYED: &str = "Претендент трудоустроен";
/// «Некорректные данные»
pub const INCORRECT: &str = "Некорректные данные";

/// Employment states of the registry: `employed` (in regular work), or one of the programme's
/// employment categories the person actually is in.
pub const EMPLOYMENT_STATES: &[&str] = &[
    "employed",
    "unemployed",
    "self_employed",
    "low_income",
    "not_registered",
    "to_be_released",
    "student",
];

/// The programme's age limits at the time of the check (ТиПО for youth and adults of working age).
pub const MIN_AGE: i32 = 16;
pub const MAX_AGE: i32 = 62;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub iin: String,
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    pub birth_date: NaiveDate,
    pub gender: String,
    pub employment: String,
}

/// People with fixed data, always at the top of a generated registry: the README and the tests
/// use them to see every outcome of a check. (login-independent; any region)
pub const DEMO_PEOPLE: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    // passes when typed as is
    (
        "920526450510",
        "Жаншакимова",
        "Айнур",
        "Мараловна",
        "1992-05-26",
        "female",
        "unemployed",
    ),
    (
        "780402301292",
        "Кабылдинов",
        "Куаныш",
        "",
        "1978-04-02",
        "male",
        "unemployed",
    ),
    (
        "000101500011",
        "Сейткали",
        "Нурлан",
        "Ерланович",
        "2000-01-01",
        "male",
        "not_registered",
    ),
    // in regular work: «Претендент трудоустроен»
    (
        "711020302076",
        "Васильев",
        "Александр",
        "Андреевич",
        "1971-10-20",
        "male",
        "employed",
    ),
    // the registry's birth date differs from the one in the IIN: «Дата рождения не совпадает»
    (
        "850315400025",
        "Омарова",
        "Гульнара",
        "Сериковна",
        "1985-03-16",
        "female",
        "unemployed",
    ),
];

#[derive(Debug, Clone, Default)]
pub struct Registry {
    people: HashMap<String, Person>,
}

fn same_name(a: &str, b: &str) -> bool {
    normalize_search(a.trim()) == normalize_search(b.trim())
}

fn age_on(birth: NaiveDate, day: NaiveDate) -> i32 {
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

impl Registry {
    pub fn len(&self) -> usize {
        self.people.len()
    }
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
    pub fn get(&self, iin: &str) -> Option<&Person> {
        self.people.get(iin)
    }
    pub fn insert(&mut self, p: Person) {
        self.people.insert(p.iin.clone(), p);
    }

    /// Reads a registry CSV (with its header line).
    pub fn load(path: &Path) -> anyhow::Result<Registry> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the registry {}", path.display()))?;
        Registry::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Registry> {
        let mut reg = Registry::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if n == 0 || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split(',').collect();
            if cols.len() != 7 {
                bail!("line {}: expected 7 columns, found {}", n + 1, cols.len());
            }
            let birth_date = NaiveDate::parse_from_str(cols[4], "%Y-%m-%d")
                .with_context(|| format!("line {}: bad birth date", n + 1))?;
            if !EMPLOYMENT_STATES.contains(&cols[6]) {
                bail!("line {}: unknown employment state {}", n + 1, cols[6]);
            }
            reg.insert(Person {
                iin: cols[0].to_string(),
                last_name: cols[1].to_string(),
                first_name: cols[2].to_string(),
                middle_name: cols[3].to_string(),
                birth_date,
                gender: cols[5].to_string(),
                employment: cols[6].to_string(),
            });
        }
        Ok(reg)
    }

    /// Checks one applicant against the registry and the programme rules, in the order АИС
    /// reports them. `Ok` means the check passed; `Err` is the reason.
    pub fn check(&self, a: &PayloadApplicant, today: NaiveDate) -> Result<(), &'static str> {
        let Some(p) = self.people.get(&a.iin) else {
            return Err(NOT_FOUND);
        };
        if !same_name(&a.last_name, &p.last_name)
            || !same_name(&a.first_name, &p.first_name)
            || !same_name(&a.middle_name, &p.middle_name)
        {
            return Err(NAME_MISMATCH);
        }
        let Ok(birth) = NaiveDate::parse_from_str(&a.birth_date, "%Y-%m-%d") else {
            return Err(INCORRECT);
        };
        if birth != p.birth_date {
            return Err(BIRTH_DATE_MISMATCH);
        }
        if p.employment == "employed" {
            return Err(EMPLOYED);
        }
        let age = age_on(birth, today);
        if !(MIN_AGE..=MAX_AGE).contains(&age)
            || a.gender != p.gender
            || a.employment_category != p.employment
        {
            return Err(INCORRECT);
        }
        Ok(())
    }
}

const MALE_FIRST: &[&str] = &[
    "Нурлан",
    "Ерлан",
    "Арман",
    "Данияр",
    "Асхат",
    "Бауыржан",
    "Ержан",
    "Айдос",
    "Куаныш",
    "Тимур",
    "Дмитрий",
    "Алексей",
    "Сергей",
    "Руслан",
    "Мирас",
    "Алихан",
    "Санжар",
    "Әлібек",
    "Нұрсұлтан",
];
const FEMALE_FIRST: &[&str] = &[
    "Айгерим",
    "Динара",
    "Гульнара",
    "Жанар",
    "Асель",
    "Айнур",
    "Мадина",
    "Камила",
    "Сауле",
    "Елена",
    "Анна",
    "Ольга",
    "Аружан",
    "Томирис",
    "Жазира",
    "Балжан",
    "Әйгерім",
    "Ақбота",
];
/// Surnames with their feminine forms.
const SURNAMES: &[(&str, &str)] = &[
    ("Ахметов", "Ахметова"),
    ("Жумабаев", "Жумабаева"),
    ("Сейткали", "Сейткали"),
    ("Касымов", "Касымова"),
    ("Нурланов", "Нурланова"),
    ("Омаров", "Омарова"),
    ("Искаков", "Искакова"),
    ("Тулегенов", "Тулегенова"),
    ("Абдрахманов", "Абдрахманова"),
    ("Иванов", "Иванова"),
    ("Ким", "Ким"),
    ("Серікбаев", "Серікбаева"),
    ("Бекмуратов", "Бекмуратова"),
    ("Кабылдинов", "Кабылдинова"),
    ("Есенов", "Есенова"),
    ("Мухамедиев", "Мухамедиева"),
    ("Туменбай", "Туменбай"),
    ("Шайкенов", "Шайкенова"),
    ("Байжанов", "Байжанова"),
];
/// Fathers' names: (masculine patronymic, feminine patronymic).
const PATRONYMICS: &[(&str, &str)] = &[
    ("Ерланович", "Ерлановна"),
    ("Серикович", "Сериковна"),
    ("Маратович", "Маратовна"),
    ("Асхатович", "Асхатовна"),
    ("Нурланович", "Нурлановна"),
    ("Андреевич", "Андреевна"),
    ("Болатұлы", "Болатқызы"),
    ("Абайұлы", "Абайқызы"),
    ("Кайратович", "Кайратовна"),
];

/// Writes a realistic registry of `people` persons (plus [`DEMO_PEOPLE`] first), generated
/// deterministically from `seed`: valid IINs, names with matching gender forms, birth dates
/// from 1960 to 2010, and employment states with a realistic mix.
pub fn generate(path: &Path, people: usize, seed: u64) -> anyhow::Result<usize> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(
        out,
        "iin,last_name,first_name,middle_name,birth_date,gender,employment"
    )?;
    let mut seen = std::collections::HashSet::new();
    for (iin, last, first, middle, birth, gender, employment) in DEMO_PEOPLE {
        writeln!(
            out,
            "{iin},{last},{first},{middle},{birth},{gender},{employment}"
        )?;
        seen.insert(iin.to_string());
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let start = NaiveDate::from_ymd_opt(1960, 1, 1).expect("valid date");
    let mut written = DEMO_PEOPLE.len();
    while written < people + DEMO_PEOPLE.len() {
        let birth = start + chrono::Days::new(rng.gen_range(0..(50 * 365)));
        let male = rng.gen_bool(0.5);
        let gender = if male { Gender::Male } else { Gender::Female };
        let Some(iin) = make_iin(birth, gender, rng.gen_range(1..10_000)) else {
            continue;
        };
        if !seen.insert(iin.as_str().to_string()) {
            continue;
        }
        let (m, f) = SURNAMES[rng.gen_range(0..SURNAMES.len())];
        let (pm, pf) = PATRONYMICS[rng.gen_range(0..PATRONYMICS.len())];
        let (last, first, middle) = if male {
            (m, MALE_FIRST[rng.gen_range(0..MALE_FIRST.len())], pm)
        } else {
            (f, FEMALE_FIRST[rng.gen_range(0..FEMALE_FIRST.len())], pf)
        };
        let middle = if rng.gen_bool(0.05) { "" } else { middle };
        let employment = match rng.gen_range(0..100) {
            0..=24 => "employed",
            25..=49 => "unemployed",
            50..=59 => "self_employed",
            60..=69 => "low_income",
            70..=84 => "not_registered",
            85..=89 => "to_be_released",
            _ => "student",
        };
        writeln!(
            out,
            "{},{last},{first},{middle},{},{},{employment}",
            iin.as_str(),
            birth.format("%Y-%m-%d"),
            gender.code()
        )?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::iin::Iin;

    fn applicant(
        iin: &str,
        last: &str,
        first: &str,
        middle: &str,
        birth: &str,
    ) -> PayloadApplicant {
        PayloadApplicant {
            id: "a".into(),
            iin: iin.into(),
            last_name: last.into(),
            first_name: first.into(),
            middle_name: middle.into(),
            birth_date: birth.into(),
            gender: "female".into(),
            kato: "710000000".into(),
            street: "x".into(),
            house: "1".into(),
            flat: "".into(),
            applicant_category: "neet".into(),
            employment_category: "unemployed".into(),
            status: "new".into(),
            mg_reason: "".into(),
        }
    }

    fn demo() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        assert_eq!(generate(&path, 200, 7).unwrap(), 205);
        Registry::load(&path).unwrap()
    }

    #[test]
    fn every_demo_person_has_a_valid_iin_and_every_generated_one_too() {
        let reg = demo();
        assert_eq!(reg.len(), 205);
        for p in reg.people.values() {
            let iin = Iin::parse(&p.iin).unwrap_or_else(|e| panic!("{}: {e:?}", p.iin));
            assert_eq!(iin.gender().code(), p.gender, "{}", p.iin);
            if p.iin != "850315400025" {
                assert_eq!(iin.birth_date(), p.birth_date, "{}", p.iin);
            }
        }
    }

    #[test]
    fn each_reason_comes_from_its_own_mismatch() {
        let reg = demo();
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let ok = applicant(
            "920526450510",
            "Жаншакимова",
            "Айнур",
            "Мараловна",
            "1992-05-26",
        );
        assert_eq!(reg.check(&ok, today), Ok(()));
        let upper = applicant(
            "920526450510",
            "ЖАНШАКИМОВА",
            "айнур",
            "Мараловна",
            "1992-05-26",
        );
        assert_eq!(reg.check(&upper, today), Ok(()));
        let unknown = applicant(
            "920526450521",
            "Жаншакимова",
            "Айнур",
            "Мараловна",
            "1992-05-26",
        );
        assert_eq!(reg.check(&unknown, today), Err(NOT_FOUND));
        let typo = applicant(
            "920526450510",
            "Жаншакимава",
            "Айнур",
            "Мараловна",
            "1992-05-26",
        );
        assert_eq!(reg.check(&typo, today), Err(NAME_MISMATCH));
        let born = applicant(
            "850315400025",
            "Омарова",
            "Гульнара",
            "Сериковна",
            "1985-03-15",
        );
        assert_eq!(reg.check(&born, today), Err(BIRTH_DATE_MISMATCH));
        let mut employed = applicant(
            "711020302076",
            "Васильев",
            "Александр",
            "Андреевич",
            "1971-10-20",
        );
        employed.gender = "male".into();
        assert_eq!(reg.check(&employed, today), Err(EMPLOYED));
        let mut category = ok.clone();
        category.employment_category = "student".into();
        assert_eq!(reg.check(&category, today), Err(INCORRECT));
        // Too young on the day of the check.
        let mut young = ok.clone();
        young.iin = "000101500011".into();
        young.last_name = "Сейткали".into();
        young.first_name = "Нурлан".into();
        young.middle_name = "Ерланович".into();
        young.birth_date = "2000-01-01".into();
        young.gender = "male".into();
        young.employment_category = "not_registered".into();
        assert_eq!(reg.check(&young, today), Ok(()));
        assert_eq!(
            reg.check(&young, NaiveDate::from_ymd_opt(2015, 1, 1).unwrap()),
            Err(INCORRECT)
        );
    }

    #[test]
    fn a_broken_registry_line_is_refused_with_its_number() {
        let err = Registry::parse("h\n1,2,3\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
