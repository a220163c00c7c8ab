//! Conformance tests: a `kube::Client`, kube-runtime watchers and controllers, and the real
//! `kubectl` against the embedded server. One test binary keeps link times down.

mod common;
mod controller;
mod crd;
mod crud;
mod gc;
mod hooks;
mod kinds;
mod kubectl;
mod schema;
mod ssa;
mod watch;
