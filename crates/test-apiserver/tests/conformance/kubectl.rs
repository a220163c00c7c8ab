//! The real `kubectl` against the `test-apiserver` binary (or the real kube-apiserver of
//! `CONFORMANCE_KUBECONFIG`). Skipped (with a note) when kubectl is not installed.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Names, real_kubeconfig};

/// `$KUBECTL`, else `/usr/bin/kubectl`, else `kubectl` on `PATH`.
fn kubectl_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .filter(|p| p.exists())
    {
        return Some(p);
    }
    let default = PathBuf::from("/usr/bin/kubectl");
    if default.exists() {
        return Some(default);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("kubectl"))
        .find(|p| p.exists())
}

/// The CRD of this test's group: `Thing`, with printer columns and a validated schema.
fn crd(names: &Names) -> String {
    let group = &names.group;
    let short = short_name(names);
    format!(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: Thing, plural: things, singular: thing, shortNames: [{short}]}}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {{status: {{}}}}
    additionalPrinterColumns:
    - {{name: Size, type: integer, jsonPath: .spec.size}}
    - {{name: Phase, type: string, jsonPath: .status.phase}}
    - {{name: Age, type: date, jsonPath: .metadata.creationTimestamp}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {{type: integer}}
              interval: {{type: string, pattern: '^(|\d+[mhd])$'}}
          status:
            type: object
            properties:
              phase: {{type: string}}
"#
    )
}

/// A short name no other test's CRD has (kubectl would pick any of several `th`s).
fn short_name(names: &Names) -> String {
    format!("th{}", names.suffix.replace('-', ""))
}

/// The test-apiserver binary, running; killed on drop.
struct Binary {
    child: Child,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Binary {
    fn start() -> Binary {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_test-apiserver"))
            .args(["--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("url line");
        assert!(
            line.starts_with("http://127.0.0.1:"),
            "printed URL: {line:?}"
        );
        Binary {
            child,
            kubeconfig,
            _dir: dir,
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What kubectl talks to: the binary, or the real kube-apiserver of `CONFORMANCE_KUBECONFIG`;
/// either way in a namespace of this test's own (created), with a CRD group of its own.
struct Server {
    _binary: Option<Binary>,
    kubeconfig: PathBuf,
    names: Names,
}

impl Server {
    fn start() -> Server {
        let (binary, kubeconfig) = match real_kubeconfig() {
            Some(path) => (None, path),
            None => {
                let b = Binary::start();
                let path = b.kubeconfig.clone();
                (Some(b), path)
            }
        };
        let s = Server {
            _binary: binary,
            kubeconfig,
            names: Names::next(),
        };
        s.ok(&["create", "namespace", &s.names.ns], None);
        s
    }

    fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(kubectl_path().expect("kubectl checked by the test"));
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--namespace", &self.names.ns])
            .args(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl runs");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        drop(pipe);
        child.wait_with_output().expect("kubectl output")
    }

    /// Runs kubectl and insists on success; returns stdout.
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl_stdin(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `things.<group>`: the plain `thing` could name another test's CRD on a shared server.
    fn things(&self) -> String {
        format!("things.{}", self.names.group)
    }

    /// Server-side applies the CRD and waits until kubectl can use it (a real server
    /// establishes it, then publishes its discovery, asynchronously).
    fn install_crd(&self) {
        self.ok(
            &["apply", "--server-side", "-f", "-"],
            Some(&crd(&self.names)),
        );
        let name = format!("crd/things.{}", self.names.group);
        self.ok(
            &[
                "wait",
                "--for",
                "condition=established",
                &name,
                "--timeout=60s",
            ],
            None,
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .kubectl_stdin(&["get", &self.things()], None)
            .status
            .success()
        {
            assert!(Instant::now() < deadline, "{name} not served in time");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn thing(&self, name: &str, labels: &str, spec: &str) -> String {
        format!(
            "apiVersion: {}/v1\nkind: Thing\nmetadata: {{name: {name}, labels: {labels}}}\nspec: {spec}\n",
            self.names.group
        )
    }
}

fn have_kubectl() -> bool {
    if kubectl_path().is_some() {
        return true;
    }
    println!("skipping: kubectl is not installed (set KUBECTL or put it on PATH)");
    false
}

#[test]
fn kubectl_server_side_applies_a_crd_and_its_objects() {
    if !have_kubectl() {
        return;
    }
    let b = Server::start();
    b.install_crd();
    b.ok(
        &["apply", "--server-side", "-f", "-"],
        Some(&b.thing("t1", "{app: web}", "{size: 1}")),
    );
    let json: serde_json::Value =
        serde_json::from_str(&b.ok(&["get", &b.things(), "t1", "-o", "json"], None)).expect("json");
    assert_eq!(json["spec"]["size"], 1);
    assert_eq!(
        b.ok(&["get", &short_name(&b.names), "-o", "name"], None)
            .trim(),
        format!("thing.{}/t1", b.names.group)
    );
}

#[test]
fn kubectl_create_get_patch_and_delete() {
    if !have_kubectl() {
        return;
    }
    let b = Server::start();
    b.install_crd();
    let things = b.things();
    b.ok(
        &["create", "-f", "-"],
        Some(&b.thing("web", "{app: web}", "{size: 1}")),
    );
    b.ok(
        &["create", "-f", "-"],
        Some(&b.thing("db", "{app: db}", "{size: 2}")),
    );
    assert_eq!(
        b.ok(&["get", &things, "-l", "app=web", "-o", "name"], None)
            .trim(),
        format!("thing.{}/web", b.names.group)
    );
    assert_eq!(
        b.ok(&["get", &things, "-l", "app in (db)", "-o", "name"], None)
            .trim(),
        format!("thing.{}/db", b.names.group)
    );
    b.ok(
        &[
            "patch",
            &things,
            "web",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"size":5}}"#,
        ],
        None,
    );
    b.ok(
        &[
            "patch",
            &things,
            "web",
            "--subresource=status",
            "--type",
            "merge",
            "-p",
            r#"{"status":{"phase":"Ready"}}"#,
        ],
        None,
    );
    let json: serde_json::Value =
        serde_json::from_str(&b.ok(&["get", &things, "web", "-o", "json"], None)).expect("json");
    assert_eq!(
        (
            json["spec"]["size"].as_i64(),
            json["status"]["phase"].as_str()
        ),
        (Some(5), Some("Ready"))
    );
    b.ok(&["delete", &things, "web", "--wait=false"], None);
    assert_eq!(
        b.ok(&["get", &things, "-o", "name"], None).trim(),
        format!("thing.{}/db", b.names.group)
    );
    let table = b.ok(&["get", &things], None);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], vec!["NAME", "SIZE", "PHASE", "AGE"], "{table}");
    assert_eq!(&lines[1][..2], &["db", "2"], "{table}");
}

#[test]
fn kubectl_create_leaves_validation_to_the_server() {
    if !have_kubectl() {
        return;
    }
    let b = Server::start();
    b.install_crd();
    let out = b.kubectl_stdin(
        &["create", "-f", "-"],
        Some(&b.thing("bad", "{}", "{interval: 3s}")),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"spec.interval in body should match '^(|\d+[mhd])$'"#),
        "{err}"
    );
    let out = b.kubectl_stdin(
        &["create", "-f", "-"],
        Some(&b.thing("typo", "{}", "{sise: 3}")),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"strict decoding error: unknown field "spec.sise""#),
        "{err}"
    );
}

#[test]
fn kubectl_get_watch_sees_listed_and_new_objects_until_its_timeout() {
    if !have_kubectl() {
        return;
    }
    let b = Server::start();
    b.ok(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"),
    );
    let watcher = Command::new(kubectl_path().expect("kubectl checked above"))
        .arg("--kubeconfig")
        .arg(&b.kubeconfig)
        .args([
            "--namespace",
            &b.names.ns,
            "get",
            "configmaps",
            "--watch",
            "-o",
            "name",
            "--request-timeout=5s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl watch");
    // Whether "b" lands in the list or in the watch, it is printed: the watch resumes from the
    // list's resourceVersion.
    b.ok(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"),
    );
    let out = watcher
        .wait_with_output()
        .expect("watch ends at its request timeout");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("configmap/a") && stdout.contains("configmap/b"),
        "{stdout}"
    );
}

#[test]
fn kubectl_imperative_create_of_namespace_configmap_and_secret() {
    if !have_kubectl() {
        return;
    }
    let b = Server::start();
    let team = format!("team-{}", b.names.suffix);
    b.ok(&["create", "namespace", &team], None);
    b.ok(
        &[
            "create",
            "configmap",
            "cfg",
            "-n",
            &team,
            "--from-literal=a=b",
        ],
        None,
    );
    b.ok(
        &[
            "create",
            "secret",
            "generic",
            "s3",
            "-n",
            &team,
            "--from-literal=key=value",
        ],
        None,
    );
    assert_eq!(
        b.ok(
            &[
                "get",
                "configmap",
                "cfg",
                "-n",
                &team,
                "-o",
                "jsonpath={.data.a}"
            ],
            None
        ),
        "b"
    );
    let secret: serde_json::Value =
        serde_json::from_str(&b.ok(&["get", "secret", "s3", "-n", &team, "-o", "json"], None))
            .expect("json");
    assert_eq!(
        (secret["type"].as_str(), secret["data"]["key"].as_str()),
        (Some("Opaque"), Some("dmFsdWU="))
    );
}

#[test]
fn binary_exits_cleanly_on_sigterm() {
    if real_kubeconfig().is_some() {
        println!("skipping against a real kube-apiserver: this tests the test-apiserver binary");
        return;
    }
    let mut b = Binary::start();
    let pid = b.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = b.child.wait().expect("exits");
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&b.kubeconfig).expect("kubeconfig written");
    assert!(text.contains("current-context: test-apiserver"));
}
