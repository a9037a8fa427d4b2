//! TLS for the loopback listener. kubectl sends bearer tokens and impersonation headers only over
//! TLS, so the embedded API serves HTTPS with a certificate of its own: a private CA created at
//! first start (its key is discarded once the server certificate is signed) and a certificate for
//! `localhost` and `127.0.0.1`, kept in the data directory.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use crate::private_files::write_private;

const CA_FILE: &str = "ca.crt";
const CERT_FILE: &str = "tls.crt";
const KEY_FILE: &str = "tls.key";

/// The server's TLS identity and the CA that clients trust.
pub struct Identity {
    pub ca_pem: String,
    acceptor: TlsAcceptor,
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn create(dir: &Path) -> std::io::Result<()> {
    let ca_key = KeyPair::generate().map_err(other)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "keyhold-embedded-ca");
    let ca_cert = ca_params.self_signed(&ca_key).map_err(other)?;

    let key = KeyPair::generate().map_err(other)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).map_err(other)?;
    params.distinguished_name.push(DnType::CommonName, "keyhold-embedded-apiserver");
    let cert = params.signed_by(&key, &Issuer::new(ca_params, ca_key)).map_err(other)?;

    // The key last: its presence says the identity is complete.
    write_private(&dir.join(CERT_FILE), cert.pem().as_bytes())?;
    write_private(&dir.join(CA_FILE), ca_cert.pem().as_bytes())?;
    write_private(&dir.join(KEY_FILE), key.serialize_pem().as_bytes())
}

/// Loads the TLS identity kept in `dir`, creating it on first use.
pub fn load_or_create(dir: &Path) -> std::io::Result<Identity> {
    if !dir.join(KEY_FILE).exists() {
        create(dir)?;
    }
    let ca_pem = std::fs::read_to_string(dir.join(CA_FILE))?;
    let chain = CertificateDer::pem_file_iter(dir.join(CERT_FILE)).map_err(other)?.collect::<Result<Vec<_>, _>>().map_err(other)?;
    let key = PrivateKeyDer::from_pem_file(dir.join(KEY_FILE)).map_err(other)?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(other)?;
    Ok(Identity { ca_pem, acceptor: TlsAcceptor::from(Arc::new(config)) })
}

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; further connections wait in the kernel's backlog, so a flood
/// of silent connections costs a bounded number of tasks.
const MAX_HANDSHAKES: usize = 64;

type Handshaken = (TlsStream<TcpStream>, SocketAddr);

/// A TCP listener whose connections complete a TLS handshake before axum sees them. Each
/// handshake runs on its own task under a timeout, so a client that connects and stays silent
/// delays nobody else.
pub struct TlsListener {
    handshaken: mpsc::Receiver<Handshaken>,
    addr: SocketAddr,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, identity: &Identity) -> std::io::Result<Self> {
        let addr = tcp.local_addr()?;
        let (done, handshaken) = mpsc::channel(16);
        let accepting = tokio::spawn(accept_loop(tcp, identity.acceptor.clone(), done));
        Ok(TlsListener { handshaken, addr, accepting })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn accept_loop(tcp: TcpListener, acceptor: TlsAcceptor, done: mpsc::Sender<Handshaken>) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else { return };
        let (stream, addr) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: pause rather than spin.
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, done) = (acceptor.clone(), done.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                // The server may be gone when the handshake ends; the connection just closes.
                Ok(Ok(tls)) => drop(done.send((tls, addr)).await),
                Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(handshaken) => handshaken,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
