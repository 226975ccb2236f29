//! The read-only page (`/`) in a real headless Chromium, driven over WebDriver by
//! chromedriver (Debian's `chromium` and `chromium-driver`, which `scripts/setup`
//! installs): the API serves the page over a database that the real indexer filled from
//! the marketplace's whole story on the in-process runtime; the browser searches, opens
//! an offer, looks up a disputed purchase, and saves a screenshot under
//! `$CARGO_TARGET_DIR/artifacts/web-page.png`; then the API's docs page (Swagger UI,
//! served by the API) shows the operations (`api-docs.png`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chain::InProcessChain;
use common::workload::*;
use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::json;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the page gets for anything it fetches.
const WAIT: Duration = Duration::from_secs(10);

/// chromedriver on a free port, ended when dropped.
struct Driver {
    _process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into());
        assert!(
            Path::new(&binary).exists() && Path::new(CHROMIUM).exists(),
            "{binary} or {CHROMIUM} is missing: run scripts/setup, which installs Debian's \
             chromium and chromium-driver"
        );
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let process = tokio::process::Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} does not start ({e}): run scripts/setup"));
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "chromedriver did not listen on {port} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            _process: process,
            url,
        }
    }
}

/// A headless Chromium session from the chromedriver at `url` (no sandbox: tests run as
/// root under CI).
async fn session(url: &str, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1100,1400",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(url)
        .await
        .expect("a Chromium session from chromedriver")
}

/// `$CARGO_TARGET_DIR/artifacts` (or the target directory this test binary is in).
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // target/<profile>/deps/<test binary>
            let exe = std::env::current_exe().unwrap();
            exe.ancestors().nth(3).unwrap().to_path_buf()
        });
    let dir = target.join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits for the element at `css` to show text containing `wanted`; returns its text.
async fn text_of(browser: &Client, css: &str, wanted: &str) -> String {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < WAIT {
        if let Ok(element) = browser.find(Locator::Css(css)).await {
            if let Ok(text) = element.text().await {
                if text.contains(wanted) {
                    return text;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("`{css}` did not show {wanted:?} within {WAIT:?}; it shows {last:?}");
}

/// Types `text` into the input `name` of form `#form` and submits it.
async fn submit(browser: &Client, form: &str, name: &str, text: &str) {
    let input = browser
        .find(Locator::Css(&format!("#{form} input[name={name}]")))
        .await
        .unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
    browser
        .find(Locator::Css(&format!("#{form} button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_searches_opens_an_offer_and_shows_a_disputed_purchase() {
    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    // Chromium starts while the chain runs.
    let browser_start = tokio::spawn({
        let (url, profile) = (driver.url.clone(), profile.path().to_owned());
        async move { session(&url, &profile).await }
    });

    // The whole story through the real indexer, then the API over it.
    let mut chain = InProcessChain::new();
    let m = deploy(&mut chain);
    let story = every_event(&mut chain, &m);
    let (database, client) = database("dm_web_browser").await;
    drop(client);
    let mut indexed = Indexed::new(chain, &database.url, m.watched()).await;
    indexed.sync().await;
    let api = Api::on(&database.url).await;
    let browser = browser_start.await.unwrap();

    let result = async {
        browser.goto(&format!("{}/", api.base)).await.unwrap();
        assert_eq!(browser.title().await.unwrap(), "Datamarket");
        text_of(&browser, "#status", "Indexed to block").await;

        // Search by a word of the title: the union's offer is the active one.
        let title = "Daily step counts #2";
        submit(&browser, "search", "q", "counts").await;
        let list = text_of(&browser, "#offers", title).await;
        assert!(
            list.contains(&TOKEN_PRICE.to_string()),
            "the list shows the price: {list}"
        );
        submit(&browser, "search", "q", "zebrafish").await;
        text_of(&browser, "#offers", "No offers match.").await;
        submit(&browser, "search", "q", "counts").await;
        text_of(&browser, "#offers", title).await;

        // Open it: its title and price.
        browser
            .find(Locator::Css("#offers .offer"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        text_of(&browser, "#detail h2", title).await;
        let price = text_of(&browser, "#detail .price", &TOKEN_PRICE.to_string()).await;
        assert!(price.contains("token "), "{price}");
        text_of(&browser, "#detail", "50%").await;

        // Look up a purchase by id: its status and the dispute the buyer won.
        submit(
            &browser,
            "lookup",
            "purchase",
            &story.settled_native.to_string(),
        )
        .await;
        text_of(&browser, "#purchase .purchase-status", "settled").await;
        submit(&browser, "lookup", "purchase", &story.disputed.to_string()).await;
        text_of(&browser, "#purchase .purchase-status", "resolved").await;
        let dispute = text_of(&browser, "#purchase .dispute", "the buyer won").await;
        for figure in [PRICE, PENALTY, DISPUTE_BOND] {
            assert!(dispute.contains(&figure.to_string()), "{figure}: {dispute}");
        }
        submit(&browser, "lookup", "purchase", "999999").await;
        text_of(&browser, "#purchase", "no purchase 999999").await;
        submit(&browser, "lookup", "purchase", &story.disputed.to_string()).await;
        text_of(&browser, "#purchase .dispute", "the buyer won").await;

        // The screenshot shows the purchase and its dispute.
        browser
            .execute(
                "document.getElementById('purchase').scrollIntoView({block: 'end'})",
                vec![],
            )
            .await
            .unwrap();
        let png = browser.screenshot().await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let path = artifacts().join("web-page.png");
        std::fs::write(&path, &png).unwrap();
        println!("screenshot: {} ({} bytes)", path.display(), png.len());

        // The API's docs: Swagger UI, served by the API itself (nothing from another
        // origin), renders the OpenAPI document's operations.
        browser.goto(&format!("{}/docs", api.base)).await.unwrap();
        text_of(&browser, ".swagger-ui .info .title", "Datamarket").await;
        let operations = text_of(&browser, ".swagger-ui", "/v1/purchases/{id}").await;
        for path in [
            "/v1/offers",
            "/v1/accounts/{address}/balances",
            "/v1/events",
        ] {
            assert!(
                operations.contains(path),
                "{path} in the docs: {operations}"
            );
        }
        let png = browser.screenshot().await.unwrap();
        std::fs::write(artifacts().join("api-docs.png"), &png).unwrap();
    };
    // Close the session whether or not the checks held, so no Chromium is left behind.
    let outcome = std::panic::AssertUnwindSafe(result).catch_unwind().await;
    browser.close().await.unwrap();
    api.stop().await;
    drop((driver, indexed));
    database.drop_now().await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
