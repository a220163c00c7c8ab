//! Measures and stresses the hub operator as a separate process: the scale benchmark (`hub-bench`,
//! [`bench`](mod@bench)) and the chaos soak (`hub-soak`, [`soak`]).
//!
//! Both seed a hub on an in-process [`test_apiserver::TestApiServer`] (so the request log and fault
//! injection are at hand), play OCM's view agent in-process ([`managed`], with `e2e::views`), run the
//! real `hub-operator` binary against its kubeconfig (so its memory and log are its own), and judge
//! the outcome from the server's request log, the operator's `/metrics`, the objects on the server and
//! the captured log. [`leak`] is the secret-value leak check both run. The soak can also run against a
//! real etcd + kube-apiserver ([`backend`]), reading kube-apiserver's audit log ([`audit`]) as the
//! request log; it injects the faults of [`faults`] into the operator processes of a [`fleet`] (and
//! through a [`proxy`] on the embedded server) and judges each run with [`judge`].
#![warn(missing_docs)]

pub mod audit;
pub mod backend;
pub mod bench;
pub mod faults;
pub mod fleet;
pub mod hub;
pub mod judge;
pub mod leak;
pub mod managed;
pub mod operator;
pub mod proxy;
pub mod requests;
pub mod soak;
pub mod state;
