"""Reading `/metrics` in the tests the way Prometheus reads it: the text is parsed by
prometheus_client's own parser, so a malformed line fails the test."""

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "s3cret-metrics-token"


class Scrape:
    def __init__(self, text: str):
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in self.families.values()
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def get(self, name: str, default: float = 0.0, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), default)

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample_name, labels in self.samples if sample_name == name]


def scrape(client) -> Scrape:
    """`GET /metrics` with the bearer token (the test sets `METRICS_TOKEN` to TOKEN)."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return Scrape(response.content.decode())
