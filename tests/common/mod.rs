//! Test helpers: start the real application on port 0 and talk to it like a browser.
#![allow(dead_code)]

use std::path::PathBuf;

use talapker::config::Settings;
use talapker::startup::{self, Running};

pub struct App {
    pub running: Option<Running>,
    pub base: String,
    pub dir: tempfile::TempDir,
}

impl App {
    pub async fn start() -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_with(Settings::for_tests(dir.path().to_path_buf()), dir).await
    }

    pub async fn start_with(settings: Settings, dir: tempfile::TempDir) -> App {
        // An embedded store closed a moment ago may still hold its lock: retry for a while.
        let mut tries = 0;
        let state = loop {
            match startup::prepare(&settings).await {
                Ok(s) => break s,
                Err(e) if tries < 50 && format!("{e:#}").contains("locked") => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => panic!("the app prepares: {e:#}"),
            }
        };
        let running = startup::spawn(state).await.expect("the app starts");
        let base = format!("http://{}", running.addr);
        App {
            running: Some(running),
            base,
            dir,
        }
    }

    pub fn state(&self) -> &talapker::web::AppState {
        &self.running.as_ref().expect("running").state
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.dir
    }

    /// A browser: keeps cookies, does not follow redirects (so tests see them).
    pub fn browser(&self) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: self.base.clone(),
        }
    }

    /// A browser already signed in as `login` (password `demo`).
    pub async fn signed_in(&self, login: &str) -> Browser {
        let b = self.browser();
        let r = b.login(login, "demo").await;
        assert_eq!(r.status(), 303, "sign-in of {login} should redirect");
        b
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let i = html.find(marker).expect("page has a csrf token") + marker.len();
    html[i..].split('"').next().unwrap().to_string()
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let s = r.status().as_u16();
        (s, r.text().await.unwrap())
    }

    pub async fn htmx_get(&self, path: &str, target: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .header("HX-Request", "true")
            .header("HX-Target", target)
            .send()
            .await
            .expect("GET")
    }

    /// A page's CSRF token (the home page carries one in the header's logout form or login form).
    pub async fn csrf(&self, path: &str) -> String {
        let (_, html) = self.get_text(path).await;
        csrf_of(&html)
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.base, path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// Posts a form with a fresh CSRF token taken from `from` (a page that carries one).
    pub async fn submit(
        &self,
        from: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf(from).await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_form(path, &all).await
    }

    pub async fn login(&self, login: &str, password: &str) -> reqwest::Response {
        self.submit(
            "/login",
            "/login",
            &[("login", login), ("password", password)],
        )
        .await
    }
}
