//! Reading the operator's `/metrics` and checking it with `promtool check metrics`.

use anyhow::{Context, bail};
use std::io::Write;
use std::process::{Command, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GETs the metrics URL and returns the body: `http://host:port/path` directly, `https://…` (the
/// chart's secure metrics) through `curl` with the bearer token of `E2E_METRICS_TOKEN`, not verifying
/// the operator's self-signed certificate.
pub async fn fetch(url: &str) -> anyhow::Result<String> {
    if url.starts_with("https://") {
        return fetch_secure(url).await;
    }
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("malformed response from {url}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("{url} answered {}", head.lines().next().unwrap_or_default());
    }
    Ok(body.to_owned())
}

async fn fetch_secure(url: &str) -> anyhow::Result<String> {
    let token = std::env::var("E2E_METRICS_TOKEN")
        .with_context(|| format!("{url}: E2E_METRICS_TOKEN must hold a bearer token"))?;
    // The token goes through stdin (a header file), never the command line.
    let mut curl = tokio::process::Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--fail",
            "--insecure",
            "--header",
            "@-",
            url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running curl")?;
    if let Some(mut stdin) = curl.stdin.take() {
        stdin
            .write_all(format!("Authorization: Bearer {token}\n").as_bytes())
            .await?;
    }
    let output = curl.wait_with_output().await?;
    if !output.status.success() {
        bail!(
            "{url}: curl failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Runs `promtool check metrics` on an exposition (Debian package `prometheus`).
pub fn promtool_check(exposition: &str) -> anyhow::Result<()> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running promtool (install the Debian package `prometheus`)")?;
    child
        .stdin
        .take()
        .context("promtool stdin")?
        .write_all(exposition.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "promtool check metrics failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
