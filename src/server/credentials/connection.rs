//! "Test connection": signs in with a credential's values to the service they are for, from the
//! server and the way its real clients do (a container runtime's registry login, an S3 client's
//! signed call), and says in one sentence whether it could. No value goes into the answer, a log
//! line or anywhere but that service. A stored credential is tested only against what its own
//! Secret names (the registry of its login) or the one S3 endpoint an administrator configured:
//! what an editor writes in a spec never chooses where values are sent.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use reqwest::{StatusCode, Url, header};

use super::resource::Credential;
use super::service::{CredentialsService, ServiceError, Settings};
use crate::domain::credential::{CredentialType, FieldError};
use crate::server::auth::Cidr;
use crate::domain::error::innermost;
use crate::domain::identity::Identity;
use crate::domain::lifecycle::{TestOutcome, TestValues, check_bucket, testable};
use crate::domain::new_credential::SecretValues;

/// How long one request of a test may take (a Bearer login makes three).
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a token service's answer that is read.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// Where connection tests go and what they trust.
#[derive(Debug, Clone)]
pub struct ConnectionTests {
    /// For registries (and their token services): a person names those, so only addresses a
    /// registry can have are reached (see `Guard`).
    http: reqwest::Client,
    /// For the S3 API an administrator configured, wherever it is.
    s3_http: reqwest::Client,
    guard: Guard,
    /// The S3 API access keys are tested against (AWS or any S3-compatible store).
    s3_endpoint: Url,
    s3_region: String,
    /// How often the controller tests every testable credential by itself; never when `None`.
    pub every: Option<Duration>,
}

impl Default for ConnectionTests {
    fn default() -> Self {
        ConnectionTests::new(&[], Vec::new(), Url::parse("https://s3.amazonaws.com").expect("a URL"), "us-east-1".into()).expect("an HTTP client builds")
    }
}

/// Which addresses a registry named by a person may have. Never this machine (loopback), the
/// link-local range (a cloud's metadata service answers there), unspecified, multicast or
/// broadcast addresses, unless an administrator allowed them (`--connection-test-allow`); the
/// private ranges stay open, since internal registries live there. Names are checked after they
/// resolve (so a name that points at 127.0.0.1, or re-points there later, is refused too).
#[derive(Debug, Clone)]
struct Guard(std::sync::Arc<Vec<Cidr>>);

impl Guard {
    fn permits(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let never = match ip {
            IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
            IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || v6.is_unicast_link_local(),
        };
        !never || self.0.iter().any(|allowed| allowed.contains(ip))
    }

    /// An address literal in a URL is not resolved, so it is checked here.
    fn url(&self, url: &Url) -> Result<(), String> {
        // An IPv6 literal comes bracketed.
        let literal = url.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']')).and_then(|h| h.parse::<IpAddr>().ok());
        match literal {
            Some(ip) if !self.permits(ip) => Err(format!("{} is not an address Keyhold tests against", host_of(url))),
            _ => Ok(()),
        }
    }
}

/// The error a refused name resolves to, recognised when it comes back out of reqwest.
const REFUSED_ADDRESS: &str = "resolves only to addresses Keyhold does not test against";

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (guard, host) = (self.clone(), name.as_str().to_string());
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| guard.permits(a.ip())).collect();
            if found.is_empty() {
                return Err(REFUSED_ADDRESS.into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl ConnectionTests {
    /// `extra_roots`: PEM certificates trusted besides the system's (an internal registry's CA);
    /// `allowed`: address ranges registries may have besides the usual (see `Guard`).
    pub fn new(extra_roots: &[u8], allowed: Vec<Cidr>, s3_endpoint: Url, s3_region: String) -> Result<ConnectionTests, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let roots = if extra_roots.is_empty() { Vec::new() } else { reqwest::Certificate::from_pem_bundle(extra_roots).map_err(|_| "--connection-test-ca: not PEM certificates".to_string())? };
        let guard = Guard(std::sync::Arc::new(allowed));
        // Never redirected: a service under test must not send the values on elsewhere.
        let client = |guarded: bool| {
            let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(TIMEOUT).connect_timeout(Duration::from_secs(5)).tls_certs_merge(roots.clone());
            let builder = if guarded { builder.dns_resolver(guard.clone()) } else { builder };
            builder.build().map_err(|e| e.to_string())
        };
        Ok(ConnectionTests { http: client(true)?, s3_http: client(false)?, guard, s3_endpoint, s3_region, every: None })
    }

    /// Whether a person-named service at `url` may be reached: by the same address rules as a
    /// registry (its name resolved now; an address literal as it is).
    pub async fn may_reach(&self, url: &Url) -> Result<(), String> {
        self.guard.url(url)?;
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        if host.parse::<IpAddr>().is_err() {
            let port = url.port_or_known_default().unwrap_or(443);
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map_err(|_| format!("{} could not be resolved", host_of(url)))?.collect();
            if addresses.is_empty() || addresses.iter().any(|a| !self.guard.permits(a.ip())) {
                return Err(format!("{} {REFUSED_ADDRESS}", host_of(url)));
            }
        }
        Ok(())
    }

    /// Tests a saved credential's values as its own Secret holds them, when it is one the
    /// credential may use by the controller's rule (never one its spec merely names).
    pub(super) async fn saved(&self, credential: &Credential, secret: Option<&Secret>, settings: &Settings, bucket: &str) -> TestOutcome {
        let namespace = credential.metadata.namespace.as_deref().unwrap_or_default();
        let usable = secret.filter(|s| super::controller::refusal(credential, namespace, s, settings).is_none());
        let data: BTreeMap<String, String> = usable.and_then(|s| s.data.clone()).unwrap_or_default().into_iter().map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned())).collect();
        let values = crate::domain::secret_file::values_of(credential.spec.credential_type.secret_type(), data).ok().filter(|v| v.credential_type() == credential.spec.credential_type);
        outcome(match values {
            Some(values) => self.run(&values, bucket).await,
            None => Err("The credential's Secret holds no values of its type to test".into()),
        })
    }

    /// Whether the periodic check (`--connection-test-every`) is due for a credential.
    pub(super) fn due(&self, credential: &Credential) -> bool {
        self.left(credential.spec.credential_type, last_test(credential).as_ref()).is_some_and(|left| left <= 0)
    }

    /// How long until `due` holds for a credential of this type last tested so: `None` when such
    /// credentials are never tested by themselves.
    pub(super) fn next_due(&self, credential_type: CredentialType, last: Option<&TestOutcome>) -> Option<std::time::Duration> {
        self.left(credential_type, last).map(|left| std::time::Duration::from_secs(left.max(1) as u64))
    }

    /// Seconds until the next periodic check (at most 0 once due; `None` for none).
    fn left(&self, credential_type: CredentialType, last: Option<&TestOutcome>) -> Option<i64> {
        let every = self.every.filter(|_| testable(credential_type))?;
        let last = last.and_then(|t| t.at.parse::<jiff::Timestamp>().ok());
        let waited = last.map_or(i64::MAX, |at| jiff::Timestamp::now().as_second() - at.as_second());
        Some((every.as_secs() as i64).saturating_sub(waited))
    }

    /// Tests values of a testable type: `Ok(message)` when they sign in, `Err(why not)`.
    async fn run(&self, values: &SecretValues, bucket: &str) -> Result<String, String> {
        match values {
            SecretValues::DockerRegistry { registry, username, password } => self.registry(registry, username, password).await,
            SecretValues::NgcApiKey { api_key } => self.registry(crate::domain::new_credential::NGC_REGISTRY, "$oauthtoken", api_key).await,
            SecretValues::AccessKey { access_key_id, secret_access_key } => self.s3(access_key_id, secret_access_key, bucket).await,
            _ => Err("Only registry logins and access keys can be tested".into()),
        }
    }

    /// A registry login as `docker login` makes it: `GET /v2/`, then the challenge it answers
    /// with (Basic, or Bearer through its token service).
    async fn registry(&self, server: &str, username: &str, password: &str) -> Result<String, String> {
        let base = registry_base(server).ok_or("The registry is not a host name such as registry.example.com")?;
        let host = host_of(&base);
        self.guard.url(&base)?;
        let first = self.http.get(base.clone()).send().await.map_err(|e| unreachable(&host, &e))?;
        let challenge = match first.status() {
            StatusCode::OK => return Ok(format!("Signed in to {host} (it asks for no sign-in)")),
            StatusCode::UNAUTHORIZED => first.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(Challenge::parse),
            status => return Err(format!("{host} is not a registry (HTTP {})", status.as_u16())),
        };
        let answer = match challenge {
            Some(Challenge::Basic) => self.http.get(base).basic_auth(username, Some(password)).send().await.map_err(|e| unreachable(&host, &e))?,
            Some(Challenge::Bearer { realm, params }) => {
                let token = self.bearer_token(&host, &realm, &params, username, password).await?;
                self.http.get(base).bearer_auth(token).send().await.map_err(|e| unreachable(&host, &e))?
            }
            None => return Err(format!("{host} asked for a sign-in Keyhold does not know")),
        };
        match answer.status() {
            StatusCode::OK => Ok(format!("Signed in to {host}")),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(format!("{host} refused the username or password")),
            status => Err(format!("{host} answered HTTP {}", status.as_u16())),
        }
    }

    /// A token from the registry's token service, asked with the login (Docker's token flow). The
    /// registry names the service, so it is held to the same rules: https, an address a
    /// registry may have, an answer of at most `MAX_TOKEN_ANSWER` bytes.
    async fn bearer_token(&self, host: &str, realm: &str, params: &[(String, String)], username: &str, password: &str) -> Result<String, String> {
        let realm = Url::parse(realm).ok().filter(|u| u.scheme() == "https").ok_or_else(|| format!("{host} sends logins to a token service that is not https"))?;
        self.guard.url(&realm)?;
        let query: Vec<&(String, String)> = params.iter().filter(|(k, _)| k == "service" || k == "scope").collect();
        let mut response = self.http.get(realm).query(&query).basic_auth(username, Some(password)).send().await.map_err(|e| unreachable(host, &e))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(format!("{host} refused the username or password")),
            status => return Err(format!("{host}'s token service answered HTTP {}", status.as_u16())),
        }
        let no_token = || format!("{host}'s token service sent no token");
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| no_token())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_TOKEN_ANSWER {
                return Err(no_token());
            }
        }
        let body: serde_json::Value = serde_json::from_slice(&body).map_err(|_| no_token())?;
        body.get("token").or_else(|| body.get("access_token")).and_then(|t| t.as_str()).map(str::to_string).ok_or_else(no_token)
    }

    /// An S3 call signed with AWS Signature Version 4: `ListBuckets`, or `HeadBucket` for a bucket.
    async fn s3(&self, access_key_id: &str, secret_access_key: &str, bucket: &str) -> Result<String, String> {
        let mut url = self.s3_endpoint.clone();
        let host = host_of(&url);
        let path = if bucket.is_empty() { "/".to_string() } else { format!("/{bucket}") };
        url.set_path(&path);
        let method = if bucket.is_empty() { reqwest::Method::GET } else { reqwest::Method::HEAD };
        let now = jiff::Timestamp::now();
        let signed = sigv4(&SigV4 { method: method.as_str(), host: &host, path: &path, region: &self.s3_region, access_key_id, secret_access_key, now });
        let mut request = self.s3_http.request(method, url);
        for (name, value) in &signed {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|e| unreachable(&host, &e))?;
        let status = response.status();
        let code = response.text().await.ok().and_then(|body| error_code(&body)).unwrap_or_default();
        match (status, code.as_str()) {
            (StatusCode::OK, _) if bucket.is_empty() => Ok(format!("Signed in to {host} and listed the buckets")),
            (StatusCode::OK, _) => Ok(format!("Signed in to {host} and found the bucket")),
            (StatusCode::NOT_FOUND, _) => Err(format!("Signed in to {host}, but no such bucket is there")),
            (_, "InvalidAccessKeyId") => Err(format!("{host} does not know this access key ID")),
            (_, "SignatureDoesNotMatch") => Err(format!("{host} refused the secret access key")),
            (StatusCode::FORBIDDEN, _) => Err(format!("{host} refused the key (HTTP 403: a wrong secret, or no permission for this call)")),
            (status, _) => Err(format!("{host} answered HTTP {}", status.as_u16())),
        }
    }
}

/// The `/v2/` address of the registry a login is for. Docker Hub's names lead to its API host.
fn registry_base(server: &str) -> Option<Url> {
    let server = server.trim();
    let rest = server.strip_prefix("https://").or_else(|| server.strip_prefix("http://")).unwrap_or(server);
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return None;
    }
    let host = match host {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    };
    Url::parse(&format!("https://{host}/v2/")).ok().filter(|u| u.has_host() && u.path() == "/v2/" && u.query().is_none() && u.fragment().is_none())
}

/// `host[:port]` as the URL parser understood it (never the text as typed).
fn host_of(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}{port}", url.host_str().unwrap_or_default())
}

/// Why a service could not be reached, in the words a person can act on: no answer, an untrusted
/// certificate, an address Keyhold does not test against, or not reached at all. The transport's
/// own error stays out: it would make the test a port scanner.
fn unreachable(host: &str, error: &reqwest::Error) -> String {
    let cause = innermost(error);
    if error.is_timeout() {
        format!("{host} did not answer within {} s", TIMEOUT.as_secs())
    } else if cause.contains(REFUSED_ADDRESS) {
        format!("{host} {REFUSED_ADDRESS}")
    } else if cause.to_lowercase().contains("certificate") {
        format!("{host}'s TLS certificate is not trusted (an internal CA goes in --connection-test-ca)")
    } else {
        format!("Could not reach {host}")
    }
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq)]
enum Challenge {
    Basic,
    Bearer { realm: String, params: Vec<(String, String)> },
}

impl Challenge {
    fn parse(header: &str) -> Challenge {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Challenge::Basic;
        }
        // `realm="…",service="…",scope="…"`: values are quoted and hold no quotes.
        let mut params = Vec::new();
        let mut rest = rest.trim();
        while let Some((key, after)) = rest.split_once("=\"") {
            let Some((value, tail)) = after.split_once('"') else { break };
            params.push((key.trim().trim_start_matches(',').trim().to_ascii_lowercase(), value.to_string()));
            rest = tail.trim_start_matches(',').trim();
        }
        let realm = params.iter().find(|(k, _)| k == "realm").map(|(_, v)| v.clone()).unwrap_or_default();
        Challenge::Bearer { realm, params }
    }
}

/// The `<Code>` of an S3 error document.
fn error_code(body: &str) -> Option<String> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].to_string())
}

struct SigV4<'a> {
    method: &'a str,
    host: &'a str,
    path: &'a str,
    region: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    now: jiff::Timestamp,
}

/// The headers that sign a bodiless S3 request (AWS Signature Version 4).
fn sigv4(request: &SigV4) -> Vec<(&'static str, String)> {
    use ring::{digest, hmac};
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mac = |key: &[u8], data: &str| hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes()).as_ref().to_vec();
    let stamp = request.now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let day = &stamp[..8];
    let payload = hex(digest::digest(&digest::SHA256, b"").as_ref());
    let signed_headers = "host;x-amz-content-sha256;x-amz-date";
    let canonical = format!("{}\n{}\n\nhost:{}\nx-amz-content-sha256:{payload}\nx-amz-date:{stamp}\n\n{signed_headers}\n{payload}", request.method, request.path, request.host);
    let scope = format!("{day}/{}/s3/aws4_request", request.region);
    let to_sign = format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}", hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref()));
    let key = ["s3", "aws4_request"].iter().fold(mac(&mac(format!("AWS4{}", request.secret_access_key).as_bytes(), day), request.region), |key, part| mac(&key, part));
    let signature = hex(&mac(&key, &to_sign));
    vec![
        ("x-amz-date", stamp.clone()),
        ("x-amz-content-sha256", payload),
        ("authorization", format!("AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}", request.access_key_id)),
    ]
}

/// The last test's outcome a credential's status records.
pub fn last_test(credential: &Credential) -> Option<TestOutcome> {
    credential.status.as_ref().and_then(|s| s.last_test.clone())
}

fn outcome(result: Result<String, String>) -> TestOutcome {
    let at = jiff::Timestamp::now().to_string();
    match result {
        Ok(message) => TestOutcome { at, ok: true, message },
        Err(message) => TestOutcome { at, ok: false, message },
    }
}

fn not_testable() -> ServiceError {
    ServiceError::Invalid(vec![FieldError::new("type", "Only Docker registry, NGC API key and access key credentials can be tested")])
}

impl CredentialsService {
    /// Tests values not saved yet (the wizard's button), for someone who may create credentials.
    pub async fn test_values(&self, who: &Identity, request: &TestValues) -> Result<TestOutcome, ServiceError> {
        if !self.may_somewhere(who, "create").await? {
            return Err(ServiceError::Forbidden { verb: "create", namespace: "any project".into() });
        }
        if !testable(request.values.credential_type()) {
            return Err(not_testable());
        }
        let mut problems = request.values.problems();
        problems.extend(check_bucket(&request.bucket).err());
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let result = self.settings.connection_tests.run(&request.values, &request.bucket).await;
        tracing::info!(target: "audit", user = %who.user, action = "tested values", ok = result.is_ok(), "connection test");
        Ok(outcome(result))
    }

    /// Tests a saved credential's values, for someone who may change it; its outcome is kept on
    /// the credential and in its Activity.
    pub async fn test_credential(&self, who: &Identity, namespace: &str, name: &str, bucket: &str) -> Result<TestOutcome, ServiceError> {
        let credential = self.authorized(who, "update", namespace, name).await?;
        if !testable(credential.spec.credential_type) {
            return Err(not_testable());
        }
        check_bucket(bucket).map_err(|e| ServiceError::Invalid(vec![e]))?;
        let secret = Api::<Secret>::namespaced(self.client.clone(), namespace).get_opt(&credential.spec.secret_ref.name).await?;
        let tested = self.settings.connection_tests.saved(&credential, secret.as_ref(), &self.settings, bucket).await;
        let patch = serde_json::json!({"status": {"lastTest": tested}});
        let api: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        let patched = api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        self.record_activity(&patched, "Tested", &who.user, tested.described()).await;
        tracing::info!(target: "audit", user = %who.user, action = "tested", namespace, credential = %name, ok = tested.ok, "connection test");
        self.cached(&patched, |c| last_test(c).as_ref() == Some(&tested)).await;
        Ok(tested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_reached_at_their_v2_address() {
        assert_eq!(registry_base("registry.example.com:5000").unwrap().as_str(), "https://registry.example.com:5000/v2/");
        assert_eq!(host_of(&registry_base("https://index.docker.io/v1/").unwrap()), "registry-1.docker.io");
        assert!(registry_base("user@evil.example").is_none());
        assert!(registry_base("").is_none());
        assert!(registry_base("host?x").is_none());
        assert_eq!(host_of(&registry_base("[::1]:5000").unwrap()), "[::1]:5000");
    }

    #[test]
    fn registries_are_not_reached_on_this_machine_or_link_local_addresses() {
        let guard = Guard(std::sync::Arc::new(Vec::new()));
        for refused in ["127.0.0.1", "::1", "169.254.169.254", "fe80::1", "0.0.0.0", "::ffff:127.0.0.1", "224.0.0.1"] {
            assert!(!guard.permits(refused.parse().unwrap()), "{refused}");
        }
        for permitted in ["10.0.0.5", "192.168.1.10", "52.1.2.3", "2001:db8::1"] {
            assert!(guard.permits(permitted.parse().unwrap()), "{permitted}");
        }
        let allowed = Guard(std::sync::Arc::new(vec!["127.0.0.1/32".parse().unwrap()]));
        assert!(allowed.permits("127.0.0.1".parse().unwrap()) && !allowed.permits("127.0.0.2".parse().unwrap()));
    }

    #[test]
    fn challenges_are_read() {
        assert_eq!(Challenge::parse("Basic realm=\"Registry\""), Challenge::Basic);
        let Challenge::Bearer { realm, params } = Challenge::parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\"") else { panic!() };
        assert_eq!(realm, "https://auth.docker.io/token");
        assert_eq!(params[1], ("service".into(), "registry.docker.io".into()));
    }

    #[test]
    fn signatures_name_the_key_and_scope_never_the_secret() {
        // Whether the signature itself is right is for a real S3 API to say (tests/connection.rs).
        let now: jiff::Timestamp = "2013-05-24T00:00:00Z".parse().unwrap();
        let headers = sigv4(&SigV4 { method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/", region: "us-east-1", access_key_id: "AKIAIOSFODNN7EXAMPLE", secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", now });
        let authorization = &headers[2].1;
        assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="));
        assert!(!authorization.contains("wJalr"), "the secret is never sent");
        assert_eq!(error_code("<Error><Code>SignatureDoesNotMatch</Code></Error>").as_deref(), Some("SignatureDoesNotMatch"));
    }
}
