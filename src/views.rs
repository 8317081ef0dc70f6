//! The minijinja environment: templates embedded in the binary (read from disk in debug
//! builds), auto-escaping on, `t("…")` for the catalogue, and page vs. fragment rendering.

use minijinja::{Environment, State, Value};
use rust_embed::RustEmbed;

use crate::i18n;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

pub struct Views {
    env: Environment<'static>,
}

fn translate(state: &State, ru: &str) -> String {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    i18n::t(&lang, ru).to_string()
}

/// dd.mm.yyyy hh:mm:ss in Asia/Almaty time, as the manual's tables show dates.
fn datetime_filter(v: String) -> String {
    match chrono::DateTime::parse_from_rfc3339(&v) {
        Ok(dt) => dt
            .with_timezone(&chrono_tz::Asia::Almaty)
            .format("%d.%m.%Y %H:%M:%S")
            .to_string(),
        Err(_) => v,
    }
}

/// yyyy-mm-dd → dd.mm.yyyy
fn date_filter(v: String) -> String {
    match chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
        Ok(d) => d.format("%d.%m.%Y").to_string(),
        Err(_) => v,
    }
}

impl Views {
    pub fn new() -> Views {
        let mut env = Environment::new();
        env.set_loader(|name| {
            Ok(TemplateFiles::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned()))
        });
        env.add_function("t", translate);
        env.add_filter("datetime", datetime_filter);
        env.add_filter("date", date_filter);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        Views { env }
    }

    pub fn render(&self, name: &str, ctx: Value) -> anyhow::Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| anyhow::anyhow!("loading template {name}: {e:#}"))?;
        tmpl.render(ctx)
            .map_err(|e| anyhow::anyhow!("rendering template {name}: {e:#}"))
    }
}

impl Default for Views {
    fn default() -> Self {
        Views::new()
    }
}
