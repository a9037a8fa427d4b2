//! Which Kubernetes API Keyhold talks to, and the `kube::Client` for it.

use std::path::Path;
use std::sync::Arc;

use crate::embedded;
use crate::server::config::ClusterMode;
use crate::server::metrics;

/// The connection to the cluster Keyhold manages.
pub struct Connection {
    pub client: kube::Client,
    /// Set when the cluster is the embedded one, which Keyhold also serves and seeds.
    pub embedded: Option<Arc<embedded::Cluster>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Embedded(#[from] embedded::EmbeddedError),
    #[error("cannot read the kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("cannot use the in-cluster configuration: {0}")]
    InCluster(String),
}

/// Resolves `auto` to the mode that applies on this machine.
pub fn resolve(mode: ClusterMode) -> ClusterMode {
    if mode != ClusterMode::Auto {
        return mode;
    }
    let home_config = std::env::var_os("HOME").map(|h| Path::new(&h).join(".kube/config"));
    if std::env::var_os("KUBECONFIG").is_some() || home_config.is_some_and(|p| p.exists()) {
        ClusterMode::Kubeconfig
    } else if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        ClusterMode::InCluster
    } else {
        ClusterMode::Embedded
    }
}

pub async fn connect(mode: ClusterMode, data_dir: &Path) -> Result<Connection, ConnectError> {
    match resolve(mode) {
        ClusterMode::Kubeconfig => {
            let config = kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| ConnectError::Kubeconfig(e.to_string()))?;
            Ok(Connection { client: counted(config).map_err(|e| ConnectError::Kubeconfig(e.to_string()))?, embedded: None })
        }
        ClusterMode::InCluster => {
            let config = kube::Config::incluster().map_err(|e| ConnectError::InCluster(e.to_string()))?;
            Ok(Connection { client: counted(config).map_err(|e| ConnectError::InCluster(e.to_string()))?, embedded: None })
        }
        ClusterMode::Embedded | ClusterMode::Auto => {
            let cluster = embedded::Cluster::open(&data_dir.join("cluster"))?;
            let client = kube::Client::new(tower::ServiceBuilder::new().map_request(metrics::kubernetes_request).service(cluster.router()), "default");
            Ok(Connection { client, embedded: Some(cluster) })
        }
    }
}

/// A client for `config` whose every request is counted on `/metrics`.
fn counted(config: kube::Config) -> Result<kube::Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(config)?.with_layer(&tower::util::MapRequestLayer::new(metrics::kubernetes_request)).build())
}
