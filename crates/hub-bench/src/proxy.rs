//! A TCP proxy in front of the embedded API server that can drop every connection at once and refuse
//! new ones for a while: what the clients of a real API server see while it restarts (every watch and
//! every request in flight ends without an answer, then connecting fails until it is back).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the accept loop and the connections share.
struct Shared {
    /// Bumped by every cut; each connection ends when it changes.
    cuts: watch::Sender<u64>,
    /// New connections are closed at once until then.
    down_until: Mutex<Option<Instant>>,
}

/// A running proxy; dropping it stops accepting (open connections end with their peers).
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            cuts: watch::channel(0).0,
            down_until: Mutex::new(None),
        });
        let task = tokio::spawn(accept(listener, upstream, shared.clone()));
        Ok(Proxy { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A handle that cuts this proxy's connections.
    pub fn cutter(&self) -> Cutter {
        Cutter(self.shared.clone())
    }

    /// Drops every open connection and refuses new ones for `downtime`.
    pub fn cut(&self, downtime: Duration) {
        self.cutter().cut(downtime);
    }

    /// How many cuts there were.
    pub fn cuts(&self) -> u64 {
        *self.shared.cuts.borrow()
    }
}

/// Cuts the connections of a [`Proxy`] (a handle for another task).
#[derive(Clone)]
pub struct Cutter(Arc<Shared>);

impl Cutter {
    /// Drops every open connection and refuses new ones for `downtime`.
    pub fn cut(&self, downtime: Duration) {
        *self.0.down_until.lock() = Some(Instant::now() + downtime);
        self.0.cuts.send_modify(|n| *n += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.shared.cuts.send_modify(|n| *n += 1);
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let down = shared
            .down_until
            .lock()
            .is_some_and(|until| Instant::now() < until);
        if down {
            // Closed before a byte is read: the client's request fails as against a server that is
            // not listening.
            drop(client);
            continue;
        }
        let mut cut = shared.cuts.subscribe();
        cut.mark_unchanged();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut client, mut server) = (client, server);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cut.changed() => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, text: &[u8]) -> std::io::Result<Vec<u8>> {
        stream.write_all(text).await?;
        let mut buffer = vec![0; text.len()];
        stream.read_exact(&mut buffer).await?;
        Ok(buffer)
    }

    #[tokio::test]
    async fn a_cut_ends_open_connections_and_refuses_new_ones_until_the_downtime_passed() {
        let proxy = Proxy::start(echo_server().await).await.unwrap();
        let mut open = TcpStream::connect(proxy.addr).await.unwrap();
        assert_eq!(round_trip(&mut open, b"before").await.unwrap(), b"before");

        proxy.cut(Duration::from_millis(300));
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(5), open.read_to_end(&mut rest)).await;
        assert!(
            matches!(ended, Ok(Ok(0)) | Ok(Err(_))),
            "the open connection must end: {ended:?}"
        );
        let mut during = TcpStream::connect(proxy.addr).await.unwrap();
        assert!(round_trip(&mut during, b"down").await.is_err());

        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut after = TcpStream::connect(proxy.addr).await.unwrap();
        assert_eq!(round_trip(&mut after, b"after").await.unwrap(), b"after");
        assert_eq!(proxy.cuts(), 1);
    }
}
