//! The kubeconfig file that points `kubectl` and `kube::Client` at the server.

use std::path::Path;

/// Kubeconfig text for a plain-HTTP server URL, with context `test-apiserver` and no auth.
pub fn render(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: test-apiserver
  cluster:
    server: {url}
contexts:
- name: test-apiserver
  context:
    cluster: test-apiserver
    user: test-apiserver
    namespace: default
current-context: test-apiserver
users:
- name: test-apiserver
  user: {{}}
preferences: {{}}
"
    )
}

/// Writes the kubeconfig for `url` to `path`.
pub fn write(path: &Path, url: &str) -> Result<(), crate::Error> {
    std::fs::write(path, render(url)).map_err(|source| crate::Error::Kubeconfig {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn kubeconfig_names_the_server_and_context() {
        let text = super::render("http://127.0.0.1:1234");
        assert!(text.contains("server: http://127.0.0.1:1234"));
        assert!(text.contains("current-context: test-apiserver"));
    }
}
