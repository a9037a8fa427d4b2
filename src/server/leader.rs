//! Leader election through a coordination.k8s.io Lease, so that of several replicas only one runs
//! the controller. The holder renews the Lease; the others take it over once it has not been
//! renewed for its duration. Updates carry the resourceVersion, so two replicas can never both win.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::Client;

/// How long a lease lasts without renewal, and how often it is renewed or tried.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub lease: Duration,
    pub retry: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing { lease: Duration::from_secs(15), retry: Duration::from_secs(2) }
    }
}

pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timing: Timing,
}

impl Elector {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str, timing: Timing) -> Self {
        Elector { api: Api::namespaced(client, namespace), name: name.into(), identity: identity.into(), timing }
    }

    /// Takes or renews the lease; true when this replica holds it afterwards.
    pub async fn try_lead(&self) -> Result<bool, kube::Error> {
        let now = jiff::Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..Default::default() },
                spec: Some(self.spec(now, now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renewed = spec.renew_time.as_ref().map(|t| t.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let duration = jiff::SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
        let expired = holder.is_empty() || renewed.checked_add(duration).map_or(true, |end| end < now);
        let next = if holder == self.identity {
            self.spec(spec.acquire_time.map(|t| t.0).unwrap_or(now), now, spec.lease_transitions.unwrap_or(0))
        } else if expired {
            self.spec(now, now, spec.lease_transitions.unwrap_or(0) + 1)
        } else {
            return Ok(false);
        };
        lease.spec = Some(next);
        // The resourceVersion read above makes this a compare-and-swap.
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up, so another replica takes over at once (on a graceful stop).
    pub async fn release(&self) -> Result<(), kube::Error> {
        if let Some(mut lease) = self.api.get_opt(&self.name).await?
            && lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) == Some(self.identity.as_str())
        {
            if let Some(spec) = lease.spec.as_mut() {
                spec.holder_identity = None;
            }
            self.api.replace(&self.name, &PostParams::default(), &lease).await?;
        }
        Ok(())
    }

    fn spec(&self, acquired: jiff::Timestamp, renewed: jiff::Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(i32::try_from(self.timing.lease.as_secs()).unwrap_or(i32::MAX)),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// Runs `work` whenever this replica leads, stopping it when the lease is lost, until `stop`
    /// resolves; then releases the lease.
    pub async fn run<W, F>(&self, work: W, stop: impl Future<Output = ()>)
    where
        W: Fn() -> F,
        F: Future<Output = ()>,
    {
        let mut stop = std::pin::pin!(stop);
        loop {
            let leading = self.try_lead().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "leader election failed; retrying");
                false
            });
            if leading {
                tracing::info!(identity = %self.identity, lease = %self.name, "leading");
                let mut task = std::pin::pin!(work());
                loop {
                    tokio::select! {
                        _ = &mut task => break,
                        _ = &mut stop => {
                            let _ = self.release().await;
                            return;
                        }
                        _ = tokio::time::sleep(self.timing.retry) => {
                            if !matches!(self.try_lead().await, Ok(true)) {
                                tracing::warn!(identity = %self.identity, "lost the lease; stopping the controller");
                                break;
                            }
                        }
                    }
                }
            }
            tokio::select! {
                // The work may have ended on the same signal (the controller stops on SIGTERM
                // too): give the Lease up all the same, if this replica still holds it.
                _ = &mut stop => {
                    let _ = self.release().await;
                    return;
                }
                _ = tokio::time::sleep(self.timing.retry) => {}
            }
        }
    }
}
