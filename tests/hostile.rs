//! Hostile input (#9.3): markup renders as text everywhere it is shown, SurrealQL fragments stay
//! data, oversized and malformed requests get a clear 4xx, never a 500.

mod common;

use calamine::Reader;
use common::{App, Browser};

const SCRIPT: &str = "<script>alert(\"x\")</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const SQL: &str = "'; DELETE applicant; --";

fn form(iin: &str, street: &str) -> Vec<(&'static str, String)> {
    let birth = talapker::domain::iin::Iin::parse(iin)
        .unwrap()
        .birth_date()
        .format("%d.%m.%Y")
        .to_string();
    vec![
        ("iin", iin.into()),
        ("last_name", "Жаншакимова".into()),
        ("first_name", "Айнур".into()),
        ("middle_name", "".into()),
        ("birth_date", birth),
        ("gender", "female".into()),
        ("kato", "711310000".into()),
        ("street", street.into()),
        ("house", "1".into()),
        ("flat", "".into()),
        ("applicant_category", "grad11".into()),
        ("employment_category", "unemployed".into()),
    ]
}

async fn add(b: &Browser, f: &[(&'static str, String)]) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.submit("/cabinet/applicants", "/cabinet/applicants", &fields)
        .await
}

fn assert_escaped(html: &str, raw: &str, place: &str) {
    assert!(
        !html.contains(raw),
        "{place} contains the raw payload {raw}"
    );
    assert!(
        !html.contains("<script>alert"),
        "{place} contains a live script"
    );
    assert!(
        !html.contains("<img src=x"),
        "{place} contains a live image"
    );
}

async fn applicant_id(app: &App, iin: &str) -> String {
    let id: Option<String> = app
        .state()
        .db
        .query("(SELECT VALUE record::id(id) FROM applicant WHERE iin = $iin)[0]")
        .bind(("iin", iin.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    id.unwrap()
}

#[tokio::test]
async fn markup_is_text_in_the_table_card_list_page_and_tooltips() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    assert_eq!(add(&b, &form("920526450510", SCRIPT)).await.status(), 303);
    let id = applicant_id(&app, "920526450510").await;
    // The card.
    let (_, html) = b.get_text(&format!("/cabinet/applicants/{id}")).await;
    assert_escaped(&html, SCRIPT, "the card");
    let i = html
        .find("&lt;script&gt;")
        .unwrap_or_else(|| panic!("the card shows it as text: {html}"));
    assert!(
        html[i..].starts_with("&lt;script&gt;alert("),
        "{}",
        &html[i..i + 80]
    );
    // A list whose note is markup; its page shows the address and the note as text.
    let r = b
        .submit("/cabinet/lists", "/cabinet/lists/new", &[("note", IMG)])
        .await;
    assert_eq!(r.status(), 303);
    let (_, lists) = b.get_text("/cabinet/lists").await;
    assert_escaped(&lists, IMG, "the lists tab");
    let list: Option<String> = app
        .state()
        .db
        .query("(SELECT VALUE record::id(id) FROM list)[0]")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    let list = list.unwrap();
    // АИС's reason and the mobile group's reason show in tooltips (title, aria-label).
    app.state()
        .db
        .query("UPDATE applicant SET status = 'failed', sent = true, ais_reason = $r; UPDATE list SET status = 'received', signed = 1")
        .bind(("r", IMG))
        .await
        .unwrap()
        .check()
        .unwrap();
    let (_, page) = b.get_text(&format!("/cabinet/lists/{list}")).await;
    assert_escaped(&page, IMG, "the list page");
    assert_escaped(&page, SCRIPT, "the list page");
    let i = page
        .find("title=\"")
        .and_then(|_| page.find("&gt;&lt;img src=x onerror=alert(1)&gt;"))
        .expect("the tooltip shows the reason as text");
    assert!(
        page[..i].ends_with("&quot;") || page[..i].ends_with("&#34;"),
        "{}",
        &page[i - 20..i + 40]
    );
    let (_, table) = b.get_text("/cabinet/applicants").await;
    assert_escaped(&table, IMG, "the applicants tab");
    // The Excel file keeps it as plain text.
    let bytes = b
        .get(&format!("/cabinet/lists/{list}/export.xlsx"))
        .await
        .bytes()
        .await
        .unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    assert!(sheet
        .rows()
        .any(|r| r.iter().any(|c| c.to_string().contains(SCRIPT))));
    app.stop().await;
}

#[tokio::test]
async fn surrealql_fragments_stay_data() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    for (iin, street) in [
        ("920526450510", SQL),
        ("850315400025", "$region) OR true OR ("),
        ("941008400880", "\" } ; REMOVE TABLE applicant; {"),
    ] {
        assert_eq!(add(&b, &form(iin, street)).await.status(), 303, "{street}");
    }
    let n: Option<i64> = app
        .state()
        .db
        .query("(SELECT count() AS n FROM applicant GROUP ALL)[0].n")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(n, Some(3));
    let street: Option<String> = app
        .state()
        .db
        .query("(SELECT VALUE street FROM applicant WHERE iin = '920526450510')[0]")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(street.as_deref(), Some(SQL));
    // Searches with fragments find nothing rather than everything.
    for q in ["fio=%27+OR+1%3D1+--", "fio=%24region", "iin=%27%29+OR+true"] {
        let (status, html) = b.get_text(&format!("/cabinet/applicants?{q}")).await;
        assert!(status == 200 || status == 422, "{q}: {status}");
        assert!(!html.contains("920526450510"), "{q} found rows");
    }
    app.stop().await;
}

#[tokio::test]
async fn oversized_malformed_and_unexpected_requests_get_a_clear_4xx() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let token = b.csrf("/cabinet/applicants").await;
    let post = |body: Vec<u8>, ct: &'static str| {
        let token = token.clone();
        let client = b.client.clone();
        let url = app.url("/cabinet/applicants");
        async move {
            let r = client
                .post(url)
                .header("content-type", ct)
                .header("X-CSRF-Token", token)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    // A body over the limit.
    let (status, text) = post(
        vec![b'a'; 2 * 1024 * 1024],
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(status, 413, "{text}");
    // A field over its length: a message at the field, what was typed kept.
    let long = "ул".repeat(200);
    let mut f = form("920526450510", &long);
    f.push(("csrf_token", token.clone()));
    let (status, text) = post(
        serde_urlencoded::to_string(&f).unwrap().into_bytes(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(status, 422);
    assert!(text.contains("Поле «Название улицы» не может быть длиннее 120 символов"));
    assert!(text.contains(&long), "what was typed stays");
    // Bad percent-encoding and bad UTF-8.
    let (status, _) = post(
        b"iin=%ZZ&last_name=%FF%FE&first_name=\xff\xfe".to_vec(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert!((400..500).contains(&status), "{status}");
    // A field the form does not have.
    let mut f = form("920526450510", "Абая");
    f.push(("role", "admin".into()));
    let (status, text) = post(
        serde_urlencoded::to_string(&f).unwrap().into_bytes(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Некорректный запрос"));
    // Not a form at all.
    let (status, _) = post(b"{\"iin\": 1}".to_vec(), "application/json").await;
    assert_eq!(status, 400);
    let (status, _) = post(b"\x00\x01\x02".to_vec(), "application/octet-stream").await;
    assert_eq!(status, 400);
    // JSON endpoints: broken JSON, wrong types, huge.
    for body in [&b"{"[..], b"{\"iin\": [1,2]}", b"null", b"\xff"] {
        let r = b
            .client
            .post(app.url("/cabinet/sync/applicants"))
            .header("content-type", "application/json")
            .header("X-CSRF-Token", &token)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert!(
            (400..500).contains(&r.status().as_u16()),
            "{:?}: {}",
            body,
            r.status()
        );
    }
    // A list note with control characters; a rename of a missing list.
    let r = b
        .submit(
            "/cabinet/lists",
            "/cabinet/lists/new",
            &[("note", "a\u{0007}b")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = b
        .submit(
            "/cabinet/lists",
            "/cabinet/lists/new",
            &[("note", "x"), ("extra", "y")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = b
        .submit(
            "/cabinet/lists",
            "/cabinet/lists/%27%20OR%201%3D1/rename",
            &[("note", "x")],
        )
        .await;
    assert_eq!(r.status(), 404);
    // Nothing was stored by any of it.
    let n: Option<i64> = app
        .state()
        .db
        .query("(SELECT count() AS n FROM applicant GROUP ALL)[0].n")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(n.unwrap_or(0), 0);
    app.stop().await;
}
