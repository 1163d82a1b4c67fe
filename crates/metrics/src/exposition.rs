//! The answer to a scrape: registries in the Prometheus text format (0.0.4), which Kubernetes'
//! components serve and every Prometheus reads.

use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// `registries` one after the other (each metric name must be in only one of them).
pub fn encode(registries: &[&Registry]) -> String {
    let mut text = String::with_capacity(16 * 1024);
    for registry in registries {
        // Writing to a String cannot fail; a collector that fails only loses its own lines.
        let _ = prometheus_text::encode(&mut text, registry);
    }
    text
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    #[test]
    fn registries_are_concatenated_in_the_text_format() {
        let (mut first, mut second) = (Registry::default(), Registry::default());
        let requests: Counter = Counter::default();
        requests.inc_by(3);
        first.register("requests", "Requests.", requests);
        second.register("errors", "Errors.", Counter::<u64>::default());
        let text = encode(&[&first, &second]);
        assert!(
            text.contains("# TYPE requests_total counter\nrequests_total 3\n"),
            "{text}"
        );
        assert!(text.contains("errors_total 0\n"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }
}
