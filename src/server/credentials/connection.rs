//! "Test connection": signs in with a credential's values to the service they are for, from the
//! server and the way its real clients do (a container runtime's registry login, an S3 client's
//! signed call), and says in one sentence whether it could. No value goes into the answer, a log
//! line or anywhere but that service. A stored credential is tested only against what its own
//! Secret names (the registry of its login) or the one S3 endpoint an administrator configured:
//! what an editor writes in a spec never chooses where values are sent.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use reqwest::{StatusCode, Url, header};

use super::ownership::managed_for;
use super::resource::Credential;
use super::service::{CredentialsService, ServiceError, offered};
use crate::domain::credential::FieldError;
use crate::domain::error::innermost;
use crate::domain::identity::Identity;
use crate::domain::lifecycle::{TestOutcome, TestValues, check_bucket, testable};
use crate::domain::new_credential::SecretValues;

/// On a credential: its last test's outcome (JSON). Written by Keyhold; shown, never believed.
pub const LAST_TEST: &str = "keyhold.dev/last-test";
/// How long a whole test may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where connection tests go and what they trust.
#[derive(Debug, Clone)]
pub struct ConnectionTests {
    http: reqwest::Client,
    /// The S3 API access keys are tested against (AWS or any S3-compatible store).
    s3_endpoint: Url,
    s3_region: String,
}

impl Default for ConnectionTests {
    fn default() -> Self {
        ConnectionTests::new(&[], Url::parse("https://s3.amazonaws.com").expect("a URL"), "us-east-1".into()).expect("an HTTP client builds")
    }
}

impl ConnectionTests {
    /// `extra_roots`: PEM certificates trusted besides the system's (an internal registry's CA).
    pub fn new(extra_roots: &[u8], s3_endpoint: Url, s3_region: String) -> Result<ConnectionTests, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let roots = if extra_roots.is_empty() { Vec::new() } else { reqwest::Certificate::from_pem_bundle(extra_roots).map_err(|_| "--connection-test-ca: not PEM certificates".to_string())? };
        // Never redirected: a service under test must not send the values on elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .tls_certs_merge(roots)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ConnectionTests { http, s3_endpoint, s3_region })
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
        let (base, host) = registry_base(server).ok_or("The registry is not a host name such as registry.example.com")?;
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

    /// A token from the registry's token service, asked with the login (Docker's token flow).
    async fn bearer_token(&self, host: &str, realm: &str, params: &[(String, String)], username: &str, password: &str) -> Result<String, String> {
        let realm = Url::parse(realm).ok().filter(|u| u.scheme() == "https" || (u.scheme() == "http" && crate::domain::url::is_loopback(u.host_str().unwrap_or_default())));
        let realm = realm.ok_or_else(|| format!("{host} sends logins to a token service that is not https"))?;
        let query: Vec<&(String, String)> = params.iter().filter(|(k, _)| k == "service" || k == "scope").collect();
        let response = self.http.get(realm).query(&query).basic_auth(username, Some(password)).send().await.map_err(|e| unreachable(host, &e))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(format!("{host} refused the username or password")),
            status => return Err(format!("{host}'s token service answered HTTP {}", status.as_u16())),
        }
        let body: serde_json::Value = response.json().await.map_err(|_| format!("{host}'s token service sent no token"))?;
        body.get("token").or_else(|| body.get("access_token")).and_then(|t| t.as_str()).map(str::to_string).ok_or_else(|| format!("{host}'s token service sent no token"))
    }

    /// An S3 call signed with AWS Signature Version 4: `ListBuckets`, or `HeadBucket` for a bucket.
    async fn s3(&self, access_key_id: &str, secret_access_key: &str, bucket: &str) -> Result<String, String> {
        let mut url = self.s3_endpoint.clone();
        let host = url.host_str().unwrap_or_default().to_string() + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = if bucket.is_empty() { "/".to_string() } else { format!("/{bucket}") };
        url.set_path(&path);
        let method = if bucket.is_empty() { reqwest::Method::GET } else { reqwest::Method::HEAD };
        let now = jiff::Timestamp::now();
        let signed = sigv4(&SigV4 { method: method.as_str(), host: &host, path: &path, region: &self.s3_region, access_key_id, secret_access_key, now });
        let mut request = self.http.request(method, url);
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

/// The `/v2/` address of the registry a login is for, and its host as people name it. Docker
/// Hub's names lead to its API host.
fn registry_base(server: &str) -> Option<(Url, String)> {
    let server = server.trim();
    let rest = server.strip_prefix("https://").or_else(|| server.strip_prefix("http://")).unwrap_or(server);
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return None;
    }
    let host = match host {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    };
    let url = Url::parse(&format!("https://{host}/v2/")).ok().filter(|u| u.has_host() && u.username().is_empty() && u.password().is_none() && !host.contains('@'))?;
    Some((url, host.to_string()))
}

/// Why a service could not be reached, with the transport's root cause (refused, TLS, timeout).
fn unreachable(host: &str, error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("{host} did not answer within {} s", TIMEOUT.as_secs());
    }
    format!("Could not reach {host}: {}", innermost(error))
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

/// The last test's outcome a credential records, if it is readable.
pub fn last_test(credential: &Credential) -> Option<TestOutcome> {
    credential.annotations().get(LAST_TEST).and_then(|text| serde_json::from_str(text).ok())
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
        // Only a Secret the credential may use (the controller's rule): never one its spec merely names.
        let secret = secret.filter(|s| managed_for(&s.metadata, &credential) || offered(&s.metadata, &self.settings, credential.spec.credential_type, &credential.spec.scope));
        let data: BTreeMap<String, String> = secret.and_then(|s| s.data).unwrap_or_default().into_iter().map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned())).collect();
        let values = crate::domain::secret_file::values_of(credential.spec.credential_type.secret_type(), data).ok().filter(|v| v.credential_type() == credential.spec.credential_type);
        let result = match values {
            Some(values) => self.settings.connection_tests.run(&values, bucket).await,
            None => Err("The credential's Secret holds no values of its type to test".into()),
        };
        let tested = outcome(result);
        let patch = serde_json::json!({"metadata": {"annotations": {LAST_TEST: serde_json::to_string(&tested).expect("serializes")}}});
        let api: Api<Credential> = Api::namespaced(self.client.clone(), namespace);
        let patched = api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        let verdict = if tested.ok { "passed" } else { "failed" };
        self.record_activity(&patched, "Tested", &who.user, format!("Connection test {verdict}: {}", tested.message)).await;
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
        assert_eq!(registry_base("registry.example.com:5000").unwrap().0.as_str(), "https://registry.example.com:5000/v2/");
        assert_eq!(registry_base("https://index.docker.io/v1/").unwrap().1, "registry-1.docker.io");
        assert!(registry_base("user@evil.example").is_none());
        assert!(registry_base("").is_none());
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
