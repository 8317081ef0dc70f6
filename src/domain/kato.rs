//! The КАТО dictionary of places (oblasts, districts, city districts) and region scoping.

use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Place {
    pub code: String,
    pub level: String,
    pub prefix: String,
    pub oblast: String,
    pub parent: Option<String>,
    pub name_ru: String,
    pub name_kk: String,
    pub search: String,
}

impl Place {
    pub fn name(&self, lang: &str) -> &str {
        if lang == "kz" {
            &self.name_kk
        } else {
            &self.name_ru
        }
    }
}

#[derive(Debug, Clone)]
pub struct Category {
    pub kind: String,
    pub code: String,
    pub name_ru: String,
    pub name_kk: String,
}

impl Category {
    pub fn name(&self, lang: &str) -> &str {
        if lang == "kz" {
            &self.name_kk
        } else {
            &self.name_ru
        }
    }
}

/// The two indexed fields that place an applicant in the region hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub oblast: String,
    pub district: String,
}

/// How a user's region is matched: an oblast-level region matches `oblast`, a district or
/// city-district region matches `district`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeField {
    Oblast,
    District,
}

/// The dictionaries, loaded once at start-up (a few hundred rows) and shared read-only.
#[derive(Debug, Clone, Default)]
pub struct Dictionaries {
    pub places: Vec<Place>,
    by_code: HashMap<String, usize>,
    pub categories: Vec<Category>,
}

impl Dictionaries {
    pub fn new(places: Vec<Place>, categories: Vec<Category>) -> Self {
        let by_code = places
            .iter()
            .enumerate()
            .map(|(i, p)| (p.code.clone(), i))
            .collect();
        Dictionaries {
            places,
            by_code,
            categories,
        }
    }

    pub fn place(&self, code: &str) -> Option<&Place> {
        self.by_code.get(code).map(|&i| &self.places[i])
    }

    /// True when `code` lies inside the region `region` (itself or below it).
    pub fn in_region(&self, region: &str, code: &str) -> bool {
        match self.place(region) {
            Some(r) => code.starts_with(&r.prefix) && self.place(code).is_some(),
            None => false,
        }
    }

    pub fn scope_of(&self, code: &str) -> Option<Scope> {
        let p = self.place(code)?;
        Some(Scope {
            oblast: p.oblast.clone(),
            district: if p.level == "oblast" {
                String::new()
            } else {
                p.code.clone()
            },
        })
    }

    pub fn scope_field(&self, region: &str) -> ScopeField {
        match self.place(region) {
            Some(p) if p.level == "oblast" => ScopeField::Oblast,
            _ => ScopeField::District,
        }
    }

    /// Places directly under `parent`, in the user's region, matching the search text.
    pub fn children(&self, parent: Option<&str>, region: &str, q: &str) -> Vec<&Place> {
        let q = normalize_search(q);
        let mut out: Vec<&Place> = self
            .places
            .iter()
            .filter(|p| p.parent.as_deref() == parent)
            .filter(|p| {
                // A place is offered when it is inside the region or contains the region.
                self.in_region(region, &p.code) || self.in_region(&p.code, region)
            })
            .filter(|p| q.is_empty() || p.search.contains(&q))
            .collect();
        out.sort_by(|a, b| a.name_ru.cmp(&b.name_ru));
        out
    }

    /// Every place inside the region matching the search text (for the picker's search box).
    pub fn search(&self, region: &str, q: &str) -> Vec<&Place> {
        let q = normalize_search(q);
        self.places
            .iter()
            .filter(|p| self.in_region(region, &p.code))
            .filter(|p| q.is_empty() || p.search.contains(&q))
            .take(50)
            .collect()
    }

    pub fn category(&self, kind: &str, code: &str) -> Option<&Category> {
        self.categories
            .iter()
            .find(|c| c.kind == kind && c.code == code)
    }

    pub fn categories_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Category> + 'a {
        self.categories.iter().filter(move |c| c.kind == kind)
    }

    /// «г. Нур-Султан / район Сарыарка»: the place with its parent, for the form and the card.
    pub fn full_name(&self, code: &str, lang: &str) -> String {
        match self.place(code) {
            Some(p) => match p.parent.as_deref().and_then(|c| self.place(c)) {
                Some(parent) => format!("{} / {}", parent.name(lang), p.name(lang)),
                None => p.name(lang).to_string(),
            },
            None => code.to_string(),
        }
    }
}

/// Lower case with ё folded into е: the form every search compares in.
pub fn normalize_search(s: &str) -> String {
    s.trim().to_lowercase().replace('ё', "е")
}

/// The words of a ФИО's search form as the search index keeps them (`fn::fio_words` in
/// `migrations/0012_fio_index.surql`): split at spaces, empty pieces dropped, each word once.
pub fn fio_words(fio_search: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in fio_search.split(' ').filter(|w| !w.is_empty()) {
        if !words.iter().any(|x| x == w) {
            words.push(w.to_string());
        }
    }
    words
}

/// Every set of two or more of a ФИО's words, each sorted and joined by spaces, in the order
/// `fn::fio_combos` (`migrations/0016`) gives them: the keys of the index's `fio_combo` records.
pub fn fio_combos(fio_search: &str) -> Vec<String> {
    let mut words = fio_words(fio_search);
    words.sort();
    let mut sets: Vec<Vec<&str>> = vec![Vec::new()];
    for w in &words {
        let more: Vec<Vec<&str>> = sets
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.push(w.as_str());
                s
            })
            .collect();
        sets.extend(more);
    }
    sets.into_iter()
        .filter(|s| s.len() >= 2)
        .map(|s| s.join(" "))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combos_are_every_set_of_two_or_more_words_sorted() {
        assert_eq!(
            fio_combos("нурланов нурлан ерланович"),
            vec![
                "ерланович нурлан",
                "ерланович нурланов",
                "нурлан нурланов",
                "ерланович нурлан нурланов"
            ]
        );
        assert!(fio_combos("ким  ким").is_empty());
        assert!(fio_combos("").is_empty());
        assert_eq!(fio_combos("б а"), vec!["а б"]);
    }

    fn place(code: &str, level: &str, prefix: &str, parent: Option<&str>, name: &str) -> Place {
        Place {
            code: code.into(),
            level: level.into(),
            prefix: prefix.into(),
            oblast: format!("{}0000000", &code[..2]),
            parent: parent.map(Into::into),
            name_ru: name.into(),
            name_kk: name.into(),
            search: name.to_lowercase(),
        }
    }

    fn dict() -> Dictionaries {
        Dictionaries::new(
            vec![
                place("710000000", "oblast", "71", None, "г.Астана"),
                place(
                    "711310000",
                    "sub_district",
                    "711310",
                    Some("710000000"),
                    "район Сарыарка",
                ),
                place("100000000", "oblast", "10", None, "область Абай"),
                place(
                    "101000000",
                    "district",
                    "1010",
                    Some("100000000"),
                    "Семей Г.А.",
                ),
                place(
                    "101100000",
                    "district",
                    "1011",
                    Some("100000000"),
                    "Другой район",
                ),
            ],
            vec![],
        )
    }

    #[test]
    fn a_place_below_the_region_is_inside_it_and_another_regions_is_not() {
        let d = dict();
        assert!(d.in_region("710000000", "711310000"));
        assert!(d.in_region("710000000", "710000000"));
        assert!(!d.in_region("710000000", "101000000"));
        assert!(
            !d.in_region("101000000", "101100000"),
            "the prefix is by level, not by stripped zeros"
        );
        assert!(
            !d.in_region("710000000", "719999999"),
            "unknown codes are never inside"
        );
    }

    #[test]
    fn scope_fields_follow_the_level() {
        let d = dict();
        assert_eq!(d.scope_of("711310000").unwrap().district, "711310000");
        assert_eq!(d.scope_of("710000000").unwrap().district, "");
        assert_eq!(d.scope_field("710000000"), ScopeField::Oblast);
        assert_eq!(d.scope_field("101000000"), ScopeField::District);
    }

    #[test]
    fn search_folds_case_and_yo() {
        assert_eq!(normalize_search(" ЁЛКИН "), "елкин");
    }
}
