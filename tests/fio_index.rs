//! The ФИО search index (`migrations/0012_fio_index.surql`) finds exactly what a scan of the
//! region with `string::contains` finds, in the same order, after additions, edits, moves
//! between regions and deletions, for oblast and district users; and a database that had
//! applicants before the index gets them indexed by the migration.

use surrealdb::types::SurrealValue;
use talapker::domain::kato::{fio_combos, fio_words, ScopeField};
use talapker::store::{self, applicants, Db};

/// A small deterministic generator (no dependency, same data every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const SYLLABLES: &[&str] = &[
    "ах", "мет", "жан", "ша", "ки", "мо", "ва", "ов", "ер", "лан", "ай", "гер", "им", "бек", "ұлы",
    "қы", "зы", "ә", "ё", "е", "нур", "ма", "рат", "ким", "-",
];
const OBLASTS: &[&str] = &["710000000", "750000000", "790000000"];
const DISTRICTS: &[&str] = &["711310000", "711410000", ""];

fn word(rng: &mut Lcg) -> String {
    let n = 1 + rng.below(4);
    let w: String = (0..n).map(|_| rng.pick(SYLLABLES)).collect();
    w.replace('ё', "е")
}

fn fio(rng: &mut Lcg) -> String {
    let n = 1 + rng.below(3);
    let mut words: Vec<String> = (0..n).map(|_| word(rng)).collect();
    if rng.below(10) == 0 {
        // A repeated word, and a double space: both kept out of the index's words.
        words.push(words[0].clone());
        return words.join("  ");
    }
    words.join(" ")
}

async fn app_db() -> Db {
    let db = surrealdb::engine::any::connect("mem://").await.unwrap();
    db.use_ns("t").use_db("t").await.unwrap();
    db
}

async fn add(db: &Db, rng: &mut Lcg, key: &str) {
    let oblast = rng.pick(OBLASTS);
    let district = if oblast == "710000000" {
        rng.pick(DISTRICTS)
    } else {
        ""
    };
    // Few distinct instants, so that ties on created_at are common.
    let at = format!("2026-01-0{}T10:00:00Z", 1 + rng.below(3));
    db.query(
        "CREATE type::record('applicant', $key) CONTENT {
            iin: $iin, last_name: 'x', first_name: 'x', middle_name: '', birth_date: '1990-01-01',
            gender: 'male', kato: '711310000', oblast: $oblast, district: $district, street: '',
            house: '', flat: '', applicant_category: '', employment_category: '', status: 'new',
            fio_search: $fio, created_at: <datetime>$at, updated_at: time::now(), created_by: 't'
        } RETURN NONE",
    )
    .bind(("key", key.to_string()))
    .bind(("iin", format!("{:012}", rng.next() % 1_000_000_000_000)))
    .bind(("oblast", oblast.to_string()))
    .bind(("district", district.to_string()))
    .bind(("fio", fio(rng)))
    .bind(("at", at))
    .await
    .unwrap()
    .check()
    .unwrap();
}

async fn exec(db: &Db, sql: &str, key: &str, value: String) {
    db.query(sql)
        .bind(("key", key.to_string()))
        .bind(("v", value))
        .await
        .unwrap()
        .check()
        .unwrap();
}

/// What a scan of the region finds: the definition the index must agree with.
async fn scanned(db: &Db, field: ScopeField, region: &str, words: &[String]) -> Vec<String> {
    let scope = match field {
        ScopeField::Oblast => "oblast = $region",
        ScopeField::District => "district = $region",
    };
    let filter: String = (0..words.len())
        .map(|i| format!(" AND string::contains(fio_search, $w{i})"))
        .collect();
    let mut q = db
        .query(format!(
            "SELECT VALUE record::id(id) FROM applicant WHERE {scope}{filter} ORDER BY rank, id"
        ))
        .bind(("region", region.to_string()));
    for (i, w) in words.iter().enumerate() {
        q = q.bind((format!("w{i}"), w.clone()));
    }
    q.await.unwrap().take(0).unwrap()
}

fn some_part(rng: &mut Lcg, fio: &str) -> String {
    let words = fio_words(fio);
    let w: Vec<char> = words[rng.below(words.len())].chars().collect();
    let start = rng.below(w.len());
    let len = 1 + rng.below(w.len() - start);
    w[start..start + len].iter().collect()
}

async fn compare_all(db: &Db, rng: &mut Lcg, queries: usize) -> usize {
    let fios: Vec<String> = db
        .query("SELECT VALUE fio_search FROM applicant")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert!(!fios.is_empty());
    let regions = [
        (ScopeField::Oblast, "710000000"),
        (ScopeField::Oblast, "750000000"),
        (ScopeField::District, "711310000"),
        (ScopeField::District, "711410000"),
    ];
    let mut hits = 0;
    let mut single = 0;
    for i in 0..queries {
        let n = 1 + rng.below(2);
        let mut words: Vec<String> = (0..n)
            .map(|_| {
                let f = rng.below(fios.len());
                some_part(rng, &fios[f])
            })
            .collect();
        if i % 7 == 0 {
            words.push(word(rng)); // often matches nothing
        } else if i % 3 == 0 {
            // A whole word: usually the only dictionary word containing itself.
            let f = rng.below(fios.len());
            let ws = fio_words(&fios[f]);
            let longest = ws.iter().max_by_key(|w| w.chars().count()).unwrap().clone();
            words = vec![longest];
        }
        let (field, region) = regions[i % regions.len()];
        let search = applicants::Search {
            fio: words.clone(),
            iin: None,
        };
        let got = applicants::fio_search_keys(db, field, region, &search)
            .await
            .unwrap();
        let want = scanned(db, field, region, &words).await;
        if got != want {
            let dbg: surrealdb::types::Value = db
                .query("SELECT id, rank, created_at, (SELECT VALUE [id, rank] FROM fio_post WHERE id[3] = record::id($parent.id)) AS p FROM applicant WHERE record::id(id) IN $k")
                .bind(("k", want.clone()))
                .await
                .unwrap()
                .take(0)
                .unwrap();
            panic!("{words:?} in {region}: {got:?} != {want:?}\n{dbg:?}");
        }
        if let Some((keys, total)) = applicants::fio_one_word_page(db, field, region, &search, 1, 2)
            .await
            .unwrap()
        {
            single += 1;
            let end = 3.min(want.len());
            assert_eq!(
                keys,
                want.get(1.min(want.len())..end).unwrap_or_default(),
                "{words:?}"
            );
            assert_eq!(total as usize, want.len(), "{words:?}");
        }
        // The tab's page: the one-word, one-dictionary-word searches take the paging path
        // that reads only the page; every search must page and count like the scan.
        for offset in [0usize, 3, 20] {
            let (rows, total) = applicants::page(db, field, region, &search, offset as i64, 3)
                .await
                .unwrap();
            let keys: Vec<String> = rows.into_iter().map(|r| r.id).collect();
            let end = (offset + 3).min(want.len());
            let expected = want.get(offset.min(want.len())..end).unwrap_or_default();
            assert_eq!(keys, expected, "{words:?} in {region} from {offset}");
            assert_eq!(total as usize, want.len(), "{words:?} in {region}");
        }
        hits += got.len();
    }
    assert!(
        single >= queries / 20,
        "the one-word paging path is exercised ({single})"
    );
    hits
}

#[tokio::test]
async fn the_index_finds_what_a_scan_finds_through_additions_edits_moves_and_deletions() {
    let db = app_db().await;
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
    let mut rng = Lcg(7);
    for i in 0..300 {
        add(&db, &mut rng, &format!("a{i:04}")).await;
    }
    let hits = compare_all(&db, &mut rng, 150).await;
    assert!(hits > 300, "the queries find applicants ({hits})");

    for i in 0..60 {
        let key = format!("a{:04}", rng.below(300));
        match i % 4 {
            0 | 1 => {
                exec(
                    &db,
                    "UPDATE type::record('applicant', $key) SET fio_search = $v",
                    &key,
                    fio(&mut rng),
                )
                .await;
            }
            2 => {
                let ob = rng.pick(OBLASTS).to_string();
                exec(
                    &db,
                    "UPDATE type::record('applicant', $key) SET oblast = $v, district = ''",
                    &key,
                    ob,
                )
                .await;
            }
            _ => {
                exec(
                    &db,
                    "DELETE type::record('applicant', $key) WHERE $v = $v",
                    &key,
                    String::new(),
                )
                .await;
            }
        }
        // An update that leaves the ФИО and region alone leaves the index alone.
        let key = format!("a{:04}", rng.below(300));
        exec(
            &db,
            "UPDATE type::record('applicant', $key) SET status = $v",
            &key,
            "passed".into(),
        )
        .await;
    }
    compare_all(&db, &mut rng, 150).await;

    // No posting outlives its applicant's word: every posting names a live applicant whose
    // ФИО has that word, in that oblast.
    let stale: Vec<surrealdb::types::Value> = db
        .query(
            "SELECT id FROM fio_post WHERE !record::exists(type::record('applicant', id[3]))
                OR type::record('applicant', id[3]).oblast != id[0]
                OR id[1] NOT IN fn::fio_words(type::record('applicant', id[3]).fio_search)",
        )
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert!(stale.is_empty(), "stale postings: {stale:?}");
    assert_word_counts_match_postings(&db).await;
}

#[derive(Debug, PartialEq, SurrealValue)]
struct WordCount {
    oblast: String,
    word: String,
    n: i64,
}

/// Every oblast's word counters (`fio_count`, migration 0017) sum to its postings of the word.
async fn assert_word_counts_match_postings(db: &Db) {
    let mut res = db
        .query(
            "SELECT oblast, word, count() AS n FROM fio_post GROUP BY oblast, word;
             SELECT id[0] AS oblast, id[1] AS word, math::sum(n) AS n FROM fio_count GROUP BY oblast, word;",
        )
        .await
        .unwrap();
    let mut posted: Vec<WordCount> = res.take(0).unwrap();
    let mut counted: Vec<WordCount> = res.take(1).unwrap();
    // A word whose applicants all left keeps counters that sum to zero.
    counted.retain(|c| c.n != 0);
    posted.sort_by(|a, b| (&a.oblast, &a.word).cmp(&(&b.oblast, &b.word)));
    counted.sort_by(|a, b| (&a.oblast, &a.word).cmp(&(&b.oblast, &b.word)));
    assert!(
        posted.len() > 100,
        "the applicants have words ({})",
        posted.len()
    );
    assert_eq!(counted, posted);
}

#[tokio::test]
async fn applicants_added_before_the_index_existed_are_indexed_by_its_migration() {
    let db = app_db().await;
    let all = store::embedded_migrations();
    let before: Vec<_> = all
        .into_iter()
        .take_while(|m| !m.name.starts_with("0010"))
        .collect();
    store::migrate(&db, &before).await.unwrap();
    let mut rng = Lcg(11);
    for i in 0..120 {
        add(&db, &mut rng, &format!("b{i:04}")).await;
    }
    let none: Vec<surrealdb::types::Value> = db
        .query("SELECT * FROM fio_post")
        .await
        .unwrap()
        .take(0)
        .unwrap_or_default();
    assert!(none.is_empty());
    assert_eq!(
        store::migrate(&db, &store::embedded_migrations())
            .await
            .unwrap(),
        store::embedded_migrations().len() - before.len()
    );
    compare_all(&db, &mut rng, 80).await;
    assert_word_counts_match_postings(&db).await;
}

#[tokio::test]
async fn the_words_and_word_sets_the_server_computes_are_the_ones_the_database_indexes() {
    let db = app_db().await;
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
    for s in [
        "жаншакимова айнур мараловна",
        "нурланов нурлан ерланович",
        "ким  ким",
        " а б ",
        "",
        "иванова-петрова ә ұлы",
        "a\u{a0}b c",
        "zeta alpha ёлка елка әбен",
        "а б в г",
    ] {
        let mut res = db
            .query("RETURN fn::fio_words($s); RETURN fn::fio_combos($s);")
            .bind(("s", s.to_string()))
            .await
            .unwrap();
        let words: Vec<String> = res.take(0).unwrap();
        let sets: Vec<String> = res.take(1).unwrap();
        assert_eq!(fio_words(s), words, "{s:?}");
        assert_eq!(fio_combos(s), sets, "{s:?}");
    }
}

#[tokio::test]
async fn a_word_only_one_dictionary_word_holds_pages_newest_first_and_counts_exactly() {
    let db = app_db().await;
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
    let mut rng = Lcg(3);
    for i in 0..40 {
        add(&db, &mut rng, &format!("c{i:04}")).await;
        // Half of them are Жаншакимова, in Astana and elsewhere, at distinct instants.
        if i % 2 == 0 {
            let at = format!("2026-02-{:02}T10:00:00Z", 1 + i / 2);
            db.query(
                "UPDATE type::record('applicant', $key) SET fio_search = 'жаншакимова айнур',
                    created_at = <datetime>$at, oblast = IF $astana THEN '710000000' ELSE '750000000' END,
                    district = ''",
            )
            .bind(("key", format!("c{i:04}")))
            .bind(("at", at))
            .bind(("astana", i % 3 != 0))
            .await
            .unwrap()
            .check()
            .unwrap();
        }
    }
    let search = applicants::Search {
        fio: vec!["жаншакимова".into()],
        iin: None,
    };
    let want = scanned(&db, ScopeField::Oblast, "710000000", &search.fio).await;
    assert!(want.len() >= 10, "{want:?}");
    for offset in [0usize, 1, 5, want.len() - 1, want.len()] {
        let (keys, total) = applicants::fio_one_word_page(
            &db,
            ScopeField::Oblast,
            "710000000",
            &search,
            offset as i64,
            4,
        )
        .await
        .unwrap()
        .expect("one dictionary word: the paging path");
        let end = (offset + 4).min(want.len());
        assert_eq!(keys, want[offset..end], "from {offset}");
        assert_eq!(total as usize, want.len());
    }
    // A district user's search merges the same way, counting what it reads.
    let want = scanned(&db, ScopeField::District, "711310000", &search.fio).await;
    let (keys, total) =
        applicants::fio_one_word_page(&db, ScopeField::District, "711310000", &search, 0, 50)
            .await
            .unwrap()
            .expect("one word: the paging path");
    assert_eq!(keys, want);
    assert_eq!(total as usize, want.len());
    // An IIN with it, or two words, take the reading path.
    let both = applicants::Search {
        fio: vec!["жаншакимова".into()],
        iin: Some("9".into()),
    };
    assert!(
        applicants::fio_one_word_page(&db, ScopeField::Oblast, "710000000", &both, 0, 4)
            .await
            .unwrap()
            .is_none()
    );
}

/// A part held by two or three words of one name (Нурланов Нурлан Нурланович): the oblast's total
/// is a sum by inclusion and exclusion over the word-set records the event keeps, and stays equal
/// to a scan's count through additions, edits of the name, moves and deletions.
#[tokio::test]
async fn a_part_held_by_several_words_of_one_name_is_counted_once() {
    let db = app_db().await;
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
    let names = [
        "нурланов нурлан нурланович",
        "нурланова айгуль нурлановна",
        "нурланов ерлан",
        "нурлан ахметов",
        "ахметова нурлана",
        "серикова айым",
        "нурланов нурлан",
    ];
    let mut rng = Lcg(11);
    for (i, name) in names.iter().enumerate() {
        let key = format!("n{i}");
        add(&db, &mut rng, &key).await;
        exec(
            &db,
            "UPDATE type::record('applicant', $key) SET fio_search = $v, oblast = '710000000', district = ''",
            &key,
            name.to_string(),
        )
        .await;
    }
    let check = |part: &'static str| {
        let db = db.clone();
        async move {
            let words = vec![part.to_string()];
            let want = scanned(&db, ScopeField::Oblast, "710000000", &words).await;
            let search = applicants::Search {
                fio: words,
                iin: None,
            };
            let (keys, total) =
                applicants::fio_one_word_page(&db, ScopeField::Oblast, "710000000", &search, 0, 50)
                    .await
                    .unwrap()
                    .expect("a one-word search");
            assert_eq!(total as usize, want.len(), "{part}");
            assert_eq!(keys, want, "{part}");
            want.len()
        }
    };
    assert_eq!(check("нурлан").await, 6);
    assert_eq!(check("нурла").await, 6);
    assert_eq!(check("ахмет").await, 2);
    // An edit takes a word away, a move takes one name out of the oblast, a deletion another.
    exec(
        &db,
        "UPDATE type::record('applicant', $key) SET fio_search = $v",
        "n0",
        "нурланов арман".into(),
    )
    .await;
    exec(
        &db,
        "UPDATE type::record('applicant', $key) SET oblast = $v",
        "n6",
        "750000000".into(),
    )
    .await;
    exec(
        &db,
        "DELETE type::record('applicant', $key) RETURN NONE",
        "n1",
        String::new(),
    )
    .await;
    assert_eq!(check("нурлан").await, 4);
    assert_eq!(check("нурланов").await, 2);
    let left: i64 = db
        .query("RETURN (SELECT count() FROM fio_combo GROUP ALL)[0].count")
        .await
        .unwrap()
        .take::<Option<i64>>(0)
        .unwrap()
        .unwrap();
    // n0: 1, n2: 1, n3: 1, n4: 1, n5: 1, n6: 1 (in its new oblast).
    assert_eq!(left, 6);
}
