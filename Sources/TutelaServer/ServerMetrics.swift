import Prometheus

/// What `GET /metrics` shows, in Prometheus's text format: counts and latencies by route pattern
/// and status, sign-ins by outcome, sessions held. Never an id, a name, a query or contents —
/// a route is its pattern (`/api/v1/records/{id}`), never the path a request used.
final class ServerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    /// Counts a request and its time.
    func request(route: String, status: Int, elapsed: Duration) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "tutela", subsystem: "http", metricName: "requests", unitName: "total",
                helpText: "Requests answered, by route pattern and status."),
            labels: [("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "tutela", subsystem: "http", metricName: "request_duration",
                unitName: "seconds", helpText: "Time to answer, by route pattern."),
            labels: [("route", route)], buckets: Self.buckets
        ).record(elapsed)
    }

    /// Counts a sign-in or activation by how it ended: `ok`, `refused`, `throttled`, `busy`.
    func signIn(_ outcome: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "tutela", subsystem: "sign_ins", metricName: "attempts",
                unitName: "total", helpText: "Sign-ins and activations, by outcome."),
            labels: [("outcome", outcome)]
        ).increment()
    }

    /// The exposition text, with the number of sessions held now.
    func text(sessions: Int) -> String {
        registry.makeGauge(
            descriptor: .init(
                namespace: "tutela", metricName: "sessions", unitName: "held",
                helpText: "People signed in now.")
        ).set(to: Double(sessions))
        return registry.emitToString()
    }
}
