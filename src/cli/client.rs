//! The REST API as the command line calls it: one bearer token, JSON both ways, the server's
//! `{code, message, field}` errors turned into one line each.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::CliError;
use super::args::Connection;
use super::config::Config;

pub struct Api {
    http: reqwest::Client,
    pub server: String,
    base: Url,
    token: String,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    message: String,
    field: Option<String>,
}

impl Api {
    /// The server a command names (or the current one) with its token.
    pub fn connect(connection: &Connection) -> Result<Api, CliError> {
        let config = Config::load()?;
        let server = config.server(connection.server.as_deref())?;
        base_url(&server)?;
        let token = config.token(&server)?;
        Api::new(&server, token)
    }

    pub fn new(server: &str, token: String) -> Result<Api, CliError> {
        let base = base_url(server)?;
        // kube's TLS already runs on ring; the client uses the same provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // The API never redirects: a redirect would be someone else's.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("keyhold/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Local(format!("cannot set up HTTPS: {e}")))?;
        Ok(Api { http, server: server.to_string(), base, token })
    }

    /// `/api/v1/` and the segments, each percent-encoded: a name typed on the command line can
    /// never step into another path.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("an http URL has a path").pop_if_empty().extend(["api", "v1"]).extend(segments);
        url
    }

    pub fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.http.request(method, self.url(segments)).bearer_auth(&self.token)
    }

    /// Sends the request; a successful response, or the server's error as one line.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, CliError> {
        let response = request.send().await.map_err(|e| CliError::Unreachable { server: self.server.clone(), reason: crate::domain::error::innermost(&e) })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::UNAUTHORIZED {
            return Err(CliError::Unauthorized { server: self.server.clone() });
        }
        let body: Option<ErrorBody> = response.json().await.ok();
        let (message, field) = body.map_or_else(|| (status.canonical_reason().unwrap_or("failed").to_string(), None), |b| (b.message, b.field));
        Err(CliError::Server { status: status.as_u16(), message, field })
    }

    /// Sends the request and reads its JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, CliError> {
        let server = self.server.clone();
        self.send(request).await?.json().await.map_err(|_| CliError::Unreachable { server, reason: "the answer was not what this keyhold expects (is it the same version?)".into() })
    }

    pub async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, CliError> {
        self.json(self.request(Method::GET, segments)).await
    }

    pub async fn with_body<T: DeserializeOwned>(&self, method: Method, segments: &[&str], body: &impl Serialize) -> Result<T, CliError> {
        self.json(self.request(method, segments).json(body)).await
    }
}

/// The server's URL: https, or http to this machine only (a token must not cross the network
/// unencrypted).
fn base_url(server: &str) -> Result<Url, CliError> {
    let base = Url::parse(server).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host()).ok_or_else(|| CliError::Usage("server: not a URL such as https://keyhold.example.com".into()))?;
    if base.scheme() == "http" && !crate::domain::url::is_loopback(base.host_str().unwrap_or_default()) {
        return Err(CliError::Usage("server: plain http:// is only for this machine (loopback); use https://".into()));
    }
    Ok(base)
}

