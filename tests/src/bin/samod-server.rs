//! A sync server made of samod (the Rust automerge-repo) as its README shows: a `Repo` with
//! filesystem storage, an axum WebSocket acceptor, and the JS sync server's policy (no
//! announcing; peers sync the documents they name). Listens on 127.0.0.1 on a free port and
//! prints `listening on ADDR` first; exits when its stdin closes, so a test that dies takes it
//! along.
//!
//! usage: samod-server DATA_DIR

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::routing::get;
use samod::{AcceptorHandle, Repo, ShareConfig};
use std::io::Read;

#[tokio::main]
async fn main() {
    let data = std::env::args()
        .nth(1)
        .expect("usage: samod-server DATA_DIR");
    let repo = Repo::build_tokio()
        .with_storage(samod::storage::TokioFilesystemStorage::new(&data))
        .with_share_policy(ShareConfig::read_write().with_announce(false))
        .load()
        .await;
    let acceptor = repo
        .make_acceptor(url::Url::parse("ws://127.0.0.1/").expect("a URL"))
        .expect("the repo runs");
    let app = Router::new().fallback(get(upgrade)).with_state(acceptor);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    println!("listening on {}", listener.local_addr().expect("bound"));
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    axum::serve(listener, app).await.expect("serving");
}

async fn upgrade(
    State(acceptor): State<AcceptorHandle>,
    ws: WebSocketUpgrade,
) -> axum::response::Response {
    ws.on_upgrade(move |socket| async move {
        let _ = acceptor.accept_axum(socket, None);
    })
}
