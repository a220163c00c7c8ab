//! Measures and stresses the hub operator as a separate process against the embedded API server: the
//! scale benchmark (`hub-bench`, [`bench`](mod@bench)) and the fault-injection soak (`hub-soak`, [`soak`]).
//!
//! Both seed a hub on an in-process [`test_apiserver::TestApiServer`] (so the request log and fault
//! injection are at hand), play OCM's view agent in-process ([`managed`], with `e2e::views`), run the
//! real `hub-operator` binary against its kubeconfig (so its memory and log are its own), and judge
//! the outcome from the server's request log, the operator's `/metrics`, the objects on the server and
//! the captured log. [`leak`] is the secret-value leak check both run.
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
