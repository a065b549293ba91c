//! The relay's metrics in the Prometheus text format, hand-rolled: a fixed set of atomic
//! counters and gauges and one histogram, owned by each relay instance. (The `metrics` crate
//! keeps a process-global recorder, which would mix the figures of the several relays the
//! end-to-end tests start in one process; the set here is small and fixed.)

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why something was refused; one counter each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// No token at the upgrade.
    TokenMissing,
    /// A token that does not parse.
    TokenMalformed,
    /// A bad signature.
    TokenForged,
    /// Expired.
    TokenExpired,
    /// Revoked (or unknown).
    TokenRevoked,
    /// The member is not in the token's team.
    NotAMember,
    /// Too many connections for one member.
    ConnectionsPerMember,
    /// A frame over the size limit.
    FrameTooLarge,
    /// Messages faster than the rate limit.
    MessageRate,
    /// A frame that is not a protocol message (or a text frame).
    MalformedFrame,
    /// A new lead that is not the member's to create.
    NewLeadRefused,
    /// A new lead over the documents-per-member limit.
    DocumentsPerMember,
    /// A peer id already used by another member.
    PeerIdTaken,
    /// A client that does not read its frames fast enough.
    SendQueueFull,
    /// A change to the team document the member may not make.
    TeamWriteRefused,
    /// A change to a lead the write model refused (history, owner, unknown kinds…).
    LeadWriteRefused,
    /// Changes sent to a document that is read-only for the member.
    ReadOnlyWrite,
    /// A new connection while too many have not become a WebSocket.
    UnauthenticatedConnections,
}

const DENIALS: [(Denial, &str); 18] = [
    (Denial::TokenMissing, "token_missing"),
    (Denial::TokenMalformed, "token_malformed"),
    (Denial::TokenForged, "token_forged"),
    (Denial::TokenExpired, "token_expired"),
    (Denial::TokenRevoked, "token_revoked"),
    (Denial::NotAMember, "not_a_member"),
    (Denial::ConnectionsPerMember, "connections_per_member"),
    (Denial::FrameTooLarge, "frame_too_large"),
    (Denial::MessageRate, "message_rate"),
    (Denial::MalformedFrame, "malformed_frame"),
    (Denial::NewLeadRefused, "new_lead_refused"),
    (Denial::DocumentsPerMember, "documents_per_member"),
    (Denial::PeerIdTaken, "peer_id_taken"),
    (Denial::SendQueueFull, "send_queue_full"),
    (Denial::TeamWriteRefused, "team_write_refused"),
    (Denial::LeadWriteRefused, "lead_write_refused"),
    (Denial::ReadOnlyWrite, "read_only_write"),
    (
        Denial::UnauthenticatedConnections,
        "unauthenticated_connections",
    ),
];

/// Upper bounds (seconds) of the engine latency histogram.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Every metric of one relay.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open WebSocket connections.
    pub connections: AtomicU64,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Documents in memory.
    pub documents_loaded: AtomicU64,
    /// Documents in storage.
    pub documents_stored: AtomicU64,
    /// Frames received.
    pub frames_received: AtomicU64,
    /// Frames sent.
    pub frames_sent: AtomicU64,
    /// Bytes received in frames.
    pub bytes_received: AtomicU64,
    /// Bytes sent in frames.
    pub bytes_sent: AtomicU64,
    /// Changes persisted (chunks written).
    pub changes_persisted: AtomicU64,
    /// Index documents rewritten.
    pub index_writes: AtomicU64,
    /// Access checks answered "none" (the document looks missing).
    pub access_denied: AtomicU64,
    /// Storage failures.
    pub storage_errors: AtomicU64,
    /// Open connections that have not become a WebSocket (HTTP requests, TLS handshakes).
    pub http_connections: AtomicU64,
    /// Connections closed because no request head (or TLS handshake) arrived in time.
    pub http_header_timeouts: AtomicU64,
    /// Connections closed because they moved no byte for the idle timeout.
    pub http_idle_timeouts: AtomicU64,
    /// TLS handshakes that failed.
    pub tls_handshake_failures: AtomicU64,
    denials: [AtomicU64; DENIALS.len()],
    latency_buckets: [AtomicU64; 10],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts a refusal.
    pub fn deny(&self, denial: Denial) {
        if let Some(i) = DENIALS.iter().position(|(d, _)| *d == denial) {
            self.denials[i].fetch_add(1, Relaxed);
        }
    }

    /// The count of one refusal reason.
    pub fn denials(&self, denial: Denial) -> u64 {
        DENIALS
            .iter()
            .position(|(d, _)| *d == denial)
            .map_or(0, |i| self.denials[i].load(Relaxed))
    }

    /// Records how long the engine took from receiving frames to handing out its answers
    /// (persisted included).
    pub fn observe_latency(&self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.latency_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut one = |name: &str, kind: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", value.load(Relaxed));
        };
        one(
            "fieldbook_connections",
            "gauge",
            "Open WebSocket sync connections.",
            &self.connections,
        );
        one(
            "fieldbook_connections_total",
            "counter",
            "WebSocket sync connections accepted.",
            &self.connections_total,
        );
        one(
            "fieldbook_documents_loaded",
            "gauge",
            "Documents in the relay's memory.",
            &self.documents_loaded,
        );
        one(
            "fieldbook_documents_stored",
            "gauge",
            "Documents in storage.",
            &self.documents_stored,
        );
        one(
            "fieldbook_frames_received_total",
            "counter",
            "Binary frames received.",
            &self.frames_received,
        );
        one(
            "fieldbook_frames_sent_total",
            "counter",
            "Binary frames sent.",
            &self.frames_sent,
        );
        one(
            "fieldbook_bytes_received_total",
            "counter",
            "Bytes received in frames.",
            &self.bytes_received,
        );
        one(
            "fieldbook_bytes_sent_total",
            "counter",
            "Bytes sent in frames.",
            &self.bytes_sent,
        );
        one(
            "fieldbook_changes_persisted_total",
            "counter",
            "Document chunks persisted.",
            &self.changes_persisted,
        );
        one(
            "fieldbook_index_writes_total",
            "counter",
            "Index documents rewritten.",
            &self.index_writes,
        );
        one(
            "fieldbook_access_denied_total",
            "counter",
            "Access checks answered none (the document looks missing).",
            &self.access_denied,
        );
        one(
            "fieldbook_storage_errors_total",
            "counter",
            "Storage operations that failed.",
            &self.storage_errors,
        );
        one(
            "fieldbook_http_connections",
            "gauge",
            "Open connections that have not become a sync WebSocket.",
            &self.http_connections,
        );
        one(
            "fieldbook_http_header_timeouts_total",
            "counter",
            "Connections closed: no request head (or TLS handshake) within the header timeout.",
            &self.http_header_timeouts,
        );
        one(
            "fieldbook_http_idle_timeouts_total",
            "counter",
            "Connections closed: no byte moved within the idle timeout.",
            &self.http_idle_timeouts,
        );
        one(
            "fieldbook_tls_handshake_failures_total",
            "counter",
            "TLS handshakes that failed.",
            &self.tls_handshake_failures,
        );
        let _ = writeln!(
            out,
            "# HELP fieldbook_denials_total Refusals by reason.\n\
             # TYPE fieldbook_denials_total counter"
        );
        for (i, (_, reason)) in DENIALS.iter().enumerate() {
            let _ = writeln!(
                out,
                "fieldbook_denials_total{{reason=\"{reason}\"}} {}",
                self.denials[i].load(Relaxed)
            );
        }
        let name = "fieldbook_sync_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from frames received to answers handed out (persist included).\n\
             # TYPE {name} histogram"
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                self.latency_buckets[i].load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_denials_and_the_histogram() {
        let m = Metrics::default();
        m.connections.store(3, Relaxed);
        m.deny(Denial::TokenExpired);
        m.deny(Denial::TokenExpired);
        m.observe_latency(0.003);
        let text = m.render();
        assert!(text.contains("\nfieldbook_connections 3\n"), "{text}");
        assert!(text.contains("fieldbook_denials_total{reason=\"token_expired\"} 2\n"));
        assert!(text.contains("fieldbook_sync_latency_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(text.contains("fieldbook_sync_latency_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("fieldbook_sync_latency_seconds_count 1\n"));
        assert_eq!(m.denials(Denial::TokenExpired), 2);
    }
}
