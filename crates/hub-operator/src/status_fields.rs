//! The DRPolicy status fields besides conditions that the operator owns — `status.sync` and
//! `status.async` peer classes and `status.networkPeers` — and the status patch that writes them
//! together with the conditions, shaped as Ramen HEAD writes its status: `async` and `sync` always
//! present, `peerClasses` and `networkPeers` omitted when empty.

use drpolicy_api::{DRPolicyStatus, NetworkPeer};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use peer_classes::PeerClasses;
use serde_json::{Value, json};

/// Peer classes and network peers of one policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusFields {
    /// `status.sync.peerClasses` and `status.async.peerClasses`.
    pub peers: PeerClasses,
    /// `status.networkPeers` (`None`: absent).
    pub network_peers: Option<Vec<NetworkPeer>>,
}

impl StatusFields {
    /// The fields as stored in `status`.
    pub fn from_status(status: Option<&DRPolicyStatus>) -> Self {
        StatusFields {
            peers: PeerClasses::from_status(status),
            network_peers: status
                .and_then(|s| s.network_peers.clone())
                .filter(|p| !p.is_empty()),
        }
    }

    /// A merge patch of the status setting `conditions` and these fields (removing what is empty).
    pub fn patch(&self, conditions: &[Condition]) -> Value {
        let side = |list: &[drpolicy_api::PeerClass]| json!({"peerClasses": (!list.is_empty()).then_some(list)});
        json!({"status": {
            "conditions": conditions,
            "async": side(&self.peers.async_),
            "sync": side(&self.peers.sync),
            "networkPeers": self.network_peers.as_ref().filter(|p| !p.is_empty()),
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drpolicy_api::PeerClass;

    #[test]
    fn the_patch_always_carries_both_sides_and_clears_what_is_empty() {
        let empty = StatusFields::default().patch(&[]);
        assert_eq!(
            empty,
            json!({"status": {"conditions": [], "async": {"peerClasses": null},
                              "sync": {"peerClasses": null}, "networkPeers": null}})
        );
        let fields = StatusFields {
            peers: PeerClasses {
                sync: vec![PeerClass {
                    storage_class_name: Some("sc".into()),
                    ..Default::default()
                }],
                async_: Vec::new(),
            },
            network_peers: Some(Vec::new()),
        };
        let patch = fields.patch(&[]);
        assert_eq!(
            patch["status"]["sync"]["peerClasses"][0]["storageClassName"],
            "sc"
        );
        assert_eq!(patch["status"]["networkPeers"], Value::Null);
    }

    #[test]
    fn stored_fields_round_trip_and_empty_network_peers_read_as_absent() {
        let status = DRPolicyStatus {
            network_peers: Some(Vec::new()),
            ..Default::default()
        };
        assert_eq!(
            StatusFields::from_status(Some(&status)),
            StatusFields::default()
        );
    }
}
