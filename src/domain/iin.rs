//! The Individual Identification Number (ИИН): 12 digits = YYMMDD, a century/gender digit,
//! four serial digits and a check digit. An `Iin` value that exists is a valid IIN.

use chrono::NaiveDate;
use std::fmt;

/// Gender as encoded in the 7th digit of an IIN (odd: male, even: female).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
    pub fn parse(s: &str) -> Option<Gender> {
        match s {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            _ => None,
        }
    }
    /// The Russian word the manual shows («мужской», «женский»).
    pub fn label_ru(self) -> &'static str {
        match self {
            Gender::Male => "мужской",
            Gender::Female => "женский",
        }
    }
}

/// Why a string is not an IIN. Each kind has its own message for the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IinError {
    Empty,
    NotTwelveDigits,
    BadCenturyDigit,
    BadDate,
    BadCheckDigit,
    NeverIssued,
}

impl IinError {
    pub fn message(self) -> &'static str {
        match self {
            IinError::Empty => "Поле «ИИН» обязательно для заполнения",
            IinError::NotTwelveDigits => "ИИН должен состоять из 12 цифр",
            IinError::BadCenturyDigit => "Седьмая цифра ИИН должна быть от 1 до 6",
            IinError::BadDate => "Первые шесть цифр ИИН должны быть датой рождения",
            IinError::BadCheckDigit => "Неверная контрольная цифра ИИН",
            IinError::NeverIssued => "Такой ИИН не выдаётся",
        }
    }
}

impl fmt::Display for IinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for IinError {}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iin(String);

const WEIGHTS_1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const WEIGHTS_2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// The check digit of the first 11 digits, or None when the number is never issued.
pub fn check_digit(digits: &[u32]) -> Option<u32> {
    let sum = |w: &[u32; 11]| digits.iter().zip(w).map(|(d, w)| d * w).sum::<u32>() % 11;
    let first = sum(&WEIGHTS_1);
    if first != 10 {
        return Some(first);
    }
    let second = sum(&WEIGHTS_2);
    (second != 10).then_some(second)
}

impl Iin {
    pub fn parse(input: &str) -> Result<Iin, IinError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(IinError::Empty);
        }
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IinError::NotTwelveDigits);
        }
        let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        if !(1..=6).contains(&d[6]) {
            return Err(IinError::BadCenturyDigit);
        }
        if birth_date_of(&d).is_none() {
            return Err(IinError::BadDate);
        }
        match check_digit(&d[..11]) {
            None => Err(IinError::NeverIssued),
            Some(c) if c != d[11] => Err(IinError::BadCheckDigit),
            Some(_) => Ok(Iin(s.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn digits(&self) -> Vec<u32> {
        self.0.bytes().map(|b| u32::from(b - b'0')).collect()
    }

    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(&self.digits()).expect("a parsed IIN has a valid date")
    }

    pub fn gender(&self) -> Gender {
        if self.digits()[6] % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }
}

fn birth_date_of(d: &[u32]) -> Option<NaiveDate> {
    let century = match d[6] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return None,
    };
    let year = century + (d[0] * 10 + d[1]) as i32;
    let month = d[2] * 10 + d[3];
    let day = d[4] * 10 + d[5];
    NaiveDate::from_ymd_opt(year, month, day)
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds a valid IIN from a date, gender and serial (for demo data, tests and benchmarks).
/// Returns None when that serial gives a number that is never issued.
pub fn make_iin(date: NaiveDate, gender: Gender, serial: u32) -> Option<Iin> {
    use chrono::Datelike;
    let y = date.year();
    let century_digit = match (y / 100, gender) {
        (18, Gender::Male) => 1,
        (18, Gender::Female) => 2,
        (19, Gender::Male) => 3,
        (19, Gender::Female) => 4,
        (20, Gender::Male) => 5,
        (20, Gender::Female) => 6,
        _ => return None,
    };
    let head = format!(
        "{:02}{:02}{:02}{}{:04}",
        y % 100,
        date.month(),
        date.day(),
        century_digit,
        serial % 10000
    );
    let d: Vec<u32> = head.bytes().map(|b| u32::from(b - b'0')).collect();
    let c = check_digit(&d)?;
    Iin::parse(&format!("{head}{c}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared vectors: the same file is run by the JavaScript validator's tests.
    const VECTORS: &str = include_str!("../../public/js/iin-vectors.json");

    #[test]
    fn the_manuals_iins_are_valid() {
        for s in [
            "920526450510",
            "711020302076",
            "941109450905",
            "941008400880",
        ] {
            assert!(Iin::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn a_valid_iin_gives_birth_date_and_gender() {
        let iin = Iin::parse("920526450510").unwrap();
        assert_eq!(
            iin.birth_date(),
            NaiveDate::from_ymd_opt(1992, 5, 26).unwrap()
        );
        assert_eq!(iin.gender(), Gender::Female);
        let iin = Iin::parse("711020302076").unwrap();
        assert_eq!(iin.gender(), Gender::Male);
        assert_eq!(
            iin.birth_date(),
            NaiveDate::from_ymd_opt(1971, 10, 20).unwrap()
        );
    }

    #[test]
    fn an_iin_with_a_wrong_check_digit_is_rejected() {
        assert_eq!(Iin::parse("920526450511"), Err(IinError::BadCheckDigit));
    }

    #[test]
    fn an_iin_with_letters_or_wrong_length_is_rejected() {
        assert_eq!(Iin::parse("92052645051"), Err(IinError::NotTwelveDigits));
        assert_eq!(Iin::parse("92052645051a"), Err(IinError::NotTwelveDigits));
        assert_eq!(Iin::parse(""), Err(IinError::Empty));
    }

    #[test]
    fn an_iin_with_an_impossible_date_or_century_is_rejected() {
        assert_eq!(Iin::parse("921326450510"), Err(IinError::BadDate));
        assert_eq!(Iin::parse("920526750510"), Err(IinError::BadCenturyDigit));
        assert_eq!(Iin::parse("920526050510"), Err(IinError::BadCenturyDigit));
    }

    #[test]
    fn the_second_weights_are_used_when_the_first_sum_gives_ten() {
        // Search for a prefix whose first sum is 10 and second is not, and check it parses.
        let mut found = false;
        for serial in 0..10000u32 {
            let head = format!("9205264{serial:04}");
            let d: Vec<u32> = head.bytes().map(|b| u32::from(b - b'0')).collect();
            let s1 = d
                .iter()
                .zip(WEIGHTS_1.iter())
                .map(|(a, b)| a * b)
                .sum::<u32>()
                % 11;
            let s2 = d
                .iter()
                .zip(WEIGHTS_2.iter())
                .map(|(a, b)| a * b)
                .sum::<u32>()
                % 11;
            if s1 == 10 && s2 != 10 {
                assert!(Iin::parse(&format!("{head}{s2}")).is_ok());
                found = true;
                break;
            }
        }
        assert!(found);
    }

    #[test]
    fn a_number_whose_both_sums_give_ten_is_never_issued() {
        let mut found = false;
        for serial in 0..10000u32 {
            let head = format!("9205264{serial:04}");
            let d: Vec<u32> = head.bytes().map(|b| u32::from(b - b'0')).collect();
            if check_digit(&d).is_none() {
                for last in 0..10 {
                    assert_eq!(
                        Iin::parse(&format!("{head}{last}")),
                        Err(IinError::NeverIssued)
                    );
                }
                found = true;
                break;
            }
        }
        assert!(found);
    }

    #[test]
    fn make_iin_builds_valid_numbers() {
        let date = NaiveDate::from_ymd_opt(2001, 12, 31).unwrap();
        let iin = (0..100)
            .find_map(|s| make_iin(date, Gender::Male, s))
            .unwrap();
        assert_eq!(iin.birth_date(), date);
        assert_eq!(iin.gender(), Gender::Male);
    }

    #[test]
    fn the_shared_vectors_agree() {
        let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let input = case["iin"].as_str().unwrap();
            let expected = case["error"].as_str();
            let got = Iin::parse(input).err().map(|e| format!("{e:?}"));
            assert_eq!(got.as_deref(), expected, "vector {input}");
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any input at all: a clean answer, never a panic.
            #[test]
            fn any_text_parses_or_is_refused_without_panicking(s in "\\PC{0,40}") {
                let _ = Iin::parse(&s);
            }

            /// Any twelve digits: accepted exactly when the date, century digit and check digit hold.
            #[test]
            fn twelve_digits_are_accepted_only_with_a_right_check_digit(s in "[0-9]{12}") {
                let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
                let expected = (1..=6).contains(&d[6])
                    && birth_date_of(&d).is_some()
                    && check_digit(&d[..11]) == Some(d[11]);
                prop_assert_eq!(Iin::parse(&s).is_ok(), expected);
            }

            /// What make_iin builds is valid and carries its date and gender.
            #[test]
            fn made_iins_round_trip(days in 0i64..60000, serial in 0u32..10000, male in any::<bool>()) {
                let date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
                let gender = if male { Gender::Male } else { Gender::Female };
                if let Some(iin) = make_iin(date, gender, serial) {
                    prop_assert_eq!(iin.birth_date(), date);
                    prop_assert_eq!(iin.gender(), gender);
                }
            }
        }
    }
}
